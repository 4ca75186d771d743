/**
 * The attributes OCSF 1.3.0 requires of each class the audit trail maps to, as the schema
 * (github.com/ocsf/ocsf-schema, events/ and objects/) marks them "required", with the
 * at-least-one constraints of the objects used. A checked list rather than the whole schema:
 * `problems` names every rule a record breaks.
 */
const BASE_REQUIRED = ['activity_id', 'category_uid', 'class_uid', 'metadata', 'severity_id', 'time', 'type_uid'];

const CLASS_REQUIRED: Record<number, { name: string; required: string[] }> = {
  3001: { name: 'Account Change', required: ['user'] },
  3002: { name: 'Authentication', required: ['user'] },
  2004: { name: 'Detection Finding', required: ['finding_info'] },
  6003: { name: 'API Activity', required: ['actor', 'api', 'src_endpoint'] },
};

/** Object attributes that must hold at least one of the listed fields (the schema's `at_least_one`). */
const AT_LEAST_ONE: Record<string, string[]> = {
  user: ['account', 'name', 'uid'],
  actor: ['process', 'user', 'invoked_by', 'session', 'app_name', 'app_uid'],
  src_endpoint: ['ip', 'uid', 'name', 'hostname', 'instance_uid', 'interface_uid', 'svc_name'],
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function ocsfClassName(record: Record<string, unknown>): string | undefined {
  return CLASS_REQUIRED[record.class_uid as number]?.name;
}

/** Every way `record` falls short of its class; empty when it validates. */
export function problems(record: Record<string, unknown>): string[] {
  const found: string[] = [];
  const spec = CLASS_REQUIRED[record.class_uid as number];
  if (!spec) return [`class_uid ${String(record.class_uid)} is not one of the mapped classes`];
  for (const name of [...BASE_REQUIRED, ...spec.required]) {
    if (record[name] === undefined || record[name] === null) found.push(`${spec.name}: ${name} missing`);
  }
  for (const name of ['activity_id', 'category_uid', 'class_uid', 'severity_id', 'time', 'type_uid']) {
    if (!Number.isInteger(record[name])) found.push(`${spec.name}: ${name} is not an integer`);
  }
  if (record.category_uid !== Math.floor((record.class_uid as number) / 1000))
    found.push('category_uid does not match the class');
  if (record.type_uid !== (record.class_uid as number) * 100 + (record.activity_id as number)) {
    found.push('type_uid is not class_uid * 100 + activity_id');
  }
  const metadata = record.metadata;
  if (!isObject(metadata) || typeof metadata.version !== 'string') found.push('metadata.version missing');
  else if (!isObject(metadata.product) || typeof metadata.product.vendor_name !== 'string') {
    found.push('metadata.product.vendor_name missing');
  }
  for (const [name, fields] of Object.entries(AT_LEAST_ONE)) {
    const value = record[name];
    if (value !== undefined && (!isObject(value) || !fields.some((field) => value[field] != null))) {
      found.push(`${name} has none of ${fields.join(', ')}`);
    }
  }
  if (isObject(record.actor) && record.actor.user !== undefined) {
    const user = record.actor.user;
    if (!isObject(user) || !AT_LEAST_ONE.user?.some((field) => user[field] != null)) found.push('actor.user is empty');
  }
  if (record.class_uid === 3002 && record.service == null && record.dst_endpoint == null) {
    found.push('Authentication: needs service or dst_endpoint');
  }
  if (record.class_uid === 6003 && (!isObject(record.api) || typeof record.api.operation !== 'string')) {
    found.push('API Activity: api.operation missing');
  }
  if (record.class_uid === 2004) {
    const info = record.finding_info;
    if (!isObject(info) || typeof info.uid !== 'string' || typeof info.title !== 'string') {
      found.push('Detection Finding: finding_info needs uid and title');
    }
  }
  return found;
}
