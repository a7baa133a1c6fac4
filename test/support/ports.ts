// bench/ is built without test/, so the one copy lives there.
export { freePort } from '../../bench/support/ports';
