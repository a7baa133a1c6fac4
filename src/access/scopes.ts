// The list lives with the configuration, which validates role maps against it at boot.
export { AUDITOR_SCOPES as SCOPES, type AuditorScope as Scope } from '../config/auditor-scopes';
