import type { ExportRecord } from './export-formats';

/**
 * OCSF (Open Cybersecurity Schema Framework) NDJSON for SIEMs: one ledger record a line, mapped to the OCSF 1.3.0 class
 * that fits its event type (docs/ocsf.md has the table and why each class). Pure: the worker streams records through
 * it. Everything a class has no attribute for goes to `unmapped.jartrail`, so nothing of the record is lost.
 */
export const OCSF_VERSION = '1.3.0';

export const OCSF_PRODUCT = { name: 'jartrail', vendor_name: 'jartrail', feature: { name: 'exports' } } as const;

type Json = Record<string, unknown>;

interface OcsfClass {
  readonly uid: number;
  readonly name: string;
  readonly category_uid: number;
  readonly category_name: string;
  readonly activities: Readonly<Record<number, string>>;
}

export const OCSF_CLASSES = {
  apiActivity: { uid: 6003, name: 'API Activity', category_uid: 6, category_name: 'Application Activity', activities: { 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete', 99: 'Other' } },
  authorizeSession: { uid: 3003, name: 'Authorize Session', category_uid: 3, category_name: 'Identity & Access Management', activities: { 1: 'Assign Privileges' } },
  detectionFinding: { uid: 2004, name: 'Detection Finding', category_uid: 2, category_name: 'Findings', activities: { 1: 'Create', 2: 'Update', 3: 'Close' } },
} as const satisfies Record<string, OcsfClass>;

const STATUS = { unknown: [0, 'Unknown'], success: [1, 'Success'], failure: [2, 'Failure'] } as const;
type Status = keyof typeof STATUS;

const SEVERITY = { informational: [1, 'Informational'], medium: [3, 'Medium'] } as const;

/** What a type's mapping gives: the class, the activity and its class-specific attributes. */
interface Mapped {
  readonly class: OcsfClass;
  readonly activityId: number;
  /** For activity 99 (Other): the source's own label, which OCSF requires in activity_name. */
  readonly activityName?: string;
  /** Epoch milliseconds of when the thing happened, where the payload says better than occurred_at. */
  readonly time?: number;
  readonly status?: Status;
  readonly statusDetail?: string;
  readonly message: string;
  readonly attributes: Json;
  /** Payload fields the class has no attribute for. */
  readonly unmapped: Json;
}

const ms = (time: string) => Date.parse(time);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const obj = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {});
/** Drops undefined members, so that an absent field is absent rather than null (OCSF: omit what is not known). */
const compact = (value: Json): Json => Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined));
const without = (data: Json, ...fields: string[]): Json => Object.fromEntries(Object.entries(data).filter(([field]) => !fields.includes(field)));
const scopes = (scope: unknown): string[] | undefined => (typeof scope === 'string' ? scope.split(' ').filter((item) => item !== '') : undefined);
const tokenUid = (token: Json) => str(token.jti) ?? str(token.token_hash);

/** The records whose payload retention purged keep their envelope: the class of their type, with what is known. */
function purged(record: ExportRecord): Mapped {
  const source = record.source ?? 'unknown';
  const message = `${record.type}: payload purged by retention${record.purge ? ` (policy ${record.purge.policy})` : ''}`;
  switch (record.type) {
    case 'consent.decision':
      return { class: OCSF_CLASSES.authorizeSession, activityId: 1, status: 'unknown', message, attributes: { user: { name: 'unknown (payload purged)', type_id: 0, type: 'Unknown' }, privileges: [] }, unmapped: {} };
    case 'finding.triage':
      return { class: OCSF_CLASSES.detectionFinding, activityId: 2, message, attributes: { finding_info: { uid: record.eventId, title: 'triage (payload purged)' } }, unmapped: {} };
    default:
      return {
        class: OCSF_CLASSES.apiActivity,
        activityId: record.type === 'token.revoked' ? 4 : record.type === 'tool_call.recorded' ? 99 : 1,
        ...(record.type === 'tool_call.recorded' && { activityName: 'tool call' }),
        status: 'unknown',
        message,
        attributes: { actor: { app_name: source }, api: { operation: record.type }, src_endpoint: { name: source } },
        unmapped: {},
      };
  }
}

/** Each type's mapping: class, activity, attributes. A new event type needs an entry (ocsf.spec.ts checks all). */
export const OCSF_MAPPINGS: Readonly<Record<string, (data: Json, record: ExportRecord) => Mapped>> = {
  'request_object.verification': (data) => {
    const header = obj(data.header);
    const claims = obj(data.claims);
    const accepted = data.verdict === 'accepted';
    return {
      class: OCSF_CLASSES.apiActivity,
      activityId: 1,
      status: accepted ? 'success' : 'failure',
      statusDetail: str(data.reason),
      message: `request object ${String(data.verdict)} for client ${String(data.client_id)} at ${String(data.issuer)}`,
      attributes: {
        actor: { app_name: str(data.client_id), app_uid: str(data.client_id) },
        api: compact({ operation: 'authorization_request', request: compact({ uid: str(claims.jti) }), service: { name: str(data.issuer), uid: str(data.issuer) } }),
        src_endpoint: { name: str(data.client_id), uid: str(data.client_id) },
        dst_endpoint: { name: str(data.issuer), svc_name: 'authorization_endpoint' },
        resources: [compact({ type: 'request_object', uid: str(data.digest), data: compact({ delivery: str(data.delivery), alg: str(header.alg), kid: str(header.kid) }) })],
      },
      unmapped: without(data, 'client_id', 'issuer', 'verdict', 'reason', 'digest'),
    };
  },
  'consent.decision': (data) => {
    const granted = obj(data.granted);
    return {
      class: OCSF_CLASSES.authorizeSession,
      activityId: 1,
      status: data.decision === 'denied' ? 'failure' : 'success',
      statusDetail: str(data.decision),
      message: `consent ${String(data.decision)} by subject ${String(data.subject)}`,
      attributes: { user: { uid: str(data.subject) }, privileges: scopes(granted.scope) ?? [] },
      unmapped: without(data, 'subject', 'decision'),
    };
  },
  'token.issued': (data, record) => ({
    class: OCSF_CLASSES.apiActivity,
    activityId: 1,
    status: 'success',
    message: `${String(data.token_type)} token issued${data.grant_type ? ` by ${String(data.grant_type)}` : ''}`,
    attributes: {
      actor: { app_name: record.source ?? undefined },
      api: { operation: `token.issue${data.grant_type ? `:${String(data.grant_type)}` : ''}`, service: { name: record.source ?? undefined } },
      src_endpoint: { name: record.source ?? undefined },
      resources: [
        compact({
          type: `${String(data.token_type)}_token`,
          uid: tokenUid(data),
          data: compact({ scope: scopes(data.scope), aud: data.aud, resource: data.resource, iat: data.iat, exp: data.exp }),
        }),
      ],
    },
    unmapped: without(data, 'token_type', 'grant_type'),
  }),
  'token.revoked': (data, record) => ({
    class: OCSF_CLASSES.apiActivity,
    activityId: 4,
    status: 'success',
    statusDetail: str(data.reason),
    message: `token ${String(tokenUid(data))} revoked`,
    time: ms(String(data.revoked_at)),
    attributes: {
      actor: { app_name: record.source ?? undefined },
      api: { operation: 'token.revoke', service: { name: record.source ?? undefined } },
      src_endpoint: { name: record.source ?? undefined },
      resources: [compact({ type: 'token', uid: tokenUid(data) })],
    },
    unmapped: without(data, 'reason'),
  }),
  'tool_call.recorded': (data, record) => {
    const outcome = str(data.outcome);
    const completed = str(data.completed_at);
    return {
      class: OCSF_CLASSES.apiActivity,
      // A tool's action is the agent's own verb (send, read, deploy, ...): OCSF's Other, with the verb as its name.
      activityId: 99,
      activityName: str(data.action),
      status: outcome === 'succeeded' ? 'success' : 'failure',
      statusDetail: outcome,
      message: `${String(data.agent_id)} called ${String(data.tool)}.${String(data.action)}: ${String(outcome)}`,
      attributes: {
        actor: { app_name: str(data.agent_id), app_uid: str(data.agent_id) },
        api: compact({ operation: str(data.action), request: { uid: str(data.call_id) }, service: { name: str(data.tool) } }),
        src_endpoint: compact({ uid: str(data.agent_id), name: record.source ?? undefined }),
        ...(typeof data.resource === 'string' && { resources: [{ type: 'resource', uid: data.resource }] }),
        ...(completed !== undefined && { end_time: ms(completed), duration: ms(completed) - ms(String(data.started_at)) }),
      },
      unmapped: without(data, 'agent_id', 'tool', 'action', 'call_id', 'outcome'),
    };
  },
  'finding.triage': (data) => {
    const by = obj(data.triaged_by);
    const status = str(data.status);
    const [statusId, statusName] = status === 'false_positive' ? [3, 'Suppressed'] : status === 'resolved' ? [4, 'Resolved'] : [2, 'In Progress'];
    return {
      class: OCSF_CLASSES.detectionFinding,
      activityId: status === 'resolved' || status === 'false_positive' ? 3 : 2,
      message: `finding ${String(data.finding_id)} (${String(data.rule)}) triaged ${String(status)}`,
      attributes: {
        finding_info: compact({ uid: String(data.finding_id), title: str(data.rule), analytic: { name: str(data.rule), uid: str(data.rule), type_id: 1, type: 'Rule' } }),
        // A finding's lifecycle status (OCSF 1.3 finding status_id): the triage's, not the activity's success.
        finding_status: { status_id: statusId, status: statusName },
        comment: str(data.note),
        // The reviewer: an API key (uid, name), or an identity provider's user (uid = sub, the provider by its iss).
        actor:
          by.subject === undefined
            ? { user: compact({ uid: str(by.api_key_id), name: str(by.name) }) }
            : { user: compact({ uid: str(by.subject) }), idp: compact({ uid: str(by.issuer) }) },
      },
      unmapped: compact({ chain_digest: data.chain_digest, triage_status: status }),
    };
  },
};

/** One OCSF event (a JSON object) for one ledger record. */
export function ocsfEvent(record: ExportRecord): Json {
  const mapping = OCSF_MAPPINGS[record.type];
  const mapped = record.data === null || !mapping ? purged(record) : mapping(record.data, record);
  const { class: ocsfClass, activityId } = mapped;
  const activityName = mapped.activityName ?? ocsfClass.activities[activityId] ?? 'Other';
  const [statusId, statusName] = STATUS[mapped.status ?? 'unknown'];
  const [severityId, severityName] = record.kind === 'conflict' ? SEVERITY.medium : SEVERITY.informational;
  const { finding_status: findingStatus, ...attributes } = mapped.attributes as Json & { finding_status?: { status_id: number; status: string } };
  const when = mapped.time ?? ms(record.occurredAt ?? record.recordedAt);
  return {
    activity_id: activityId,
    activity_name: activityName,
    category_uid: ocsfClass.category_uid,
    category_name: ocsfClass.category_name,
    class_uid: ocsfClass.uid,
    class_name: ocsfClass.name,
    type_uid: ocsfClass.uid * 100 + activityId,
    type_name: `${ocsfClass.name}: ${activityName}`,
    time: when,
    severity_id: severityId,
    severity: severityName,
    ...(ocsfClass.uid === OCSF_CLASSES.detectionFinding.uid
      ? findingStatus && { status_id: findingStatus.status_id, status: findingStatus.status }
      : { status_id: statusId, status: statusName }),
    ...(mapped.statusDetail !== undefined && { status_detail: mapped.statusDetail }),
    message: record.kind === 'conflict' ? `refused redelivery kept as evidence: ${mapped.message}` : mapped.message,
    metadata: {
      version: OCSF_VERSION,
      product: OCSF_PRODUCT,
      uid: record.eventId,
      sequence: record.ledgerSeq,
      ...(record.chainDigests[0] !== undefined && { correlation_uid: record.chainDigests[0] }),
      event_code: record.type,
      log_name: 'jartrail-ledger',
      ...(record.source !== null && { log_provider: record.source }),
      original_time: record.occurredAt ?? record.recordedAt,
      logged_time: ms(record.recordedAt),
      labels: [record.kind],
    },
    ...attributes,
    unmapped: {
      jartrail: compact({
        kind: record.kind,
        ledger_seq: record.ledgerSeq,
        event_id: record.eventId,
        chain_digests: record.chainDigests,
        emitted_at: record.emittedAt,
        recorded_at: record.recordedAt,
        occurred_at: record.occurredAt ?? undefined,
        conflicts_with_ledger_seq: record.conflictsWith ?? undefined,
        payload_purged: record.data === null,
        purge: record.purge ?? undefined,
        data: mapped.unmapped,
      }),
    },
  };
}

export const ocsfLine = (record: ExportRecord): string => `${JSON.stringify(ocsfEvent(record))}\n`;
