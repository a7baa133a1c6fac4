'use strict';

/**
 * Babel plugin used by jest's transform of ES-module packages to CommonJS (see jest.config.js).
 * Some ESM packages declare their own `require` (`const require = createRequire(import.meta.url)`); compiled to
 * CommonJS, that binding would shadow the module's real `require`. Renaming it first keeps both working.
 */
module.exports = function renameOwnRequire() {
  return {
    name: 'rename-own-require',
    visitor: {
      Program(path) {
        if (path.scope.hasOwnBinding('require')) path.scope.rename('require', '_esmOwnRequire');
      },
    },
  };
};
