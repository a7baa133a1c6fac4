export { connectJartrail, type JartrailPlugin, type JartrailPluginOptions, type PluginNotice } from './connect';
export { plainRequestFacts, requestObjectFacts, type RequestFacts } from './request-facts';
