/**
 * Schema-compatibility rules for proto/picket/v1 against the last released copy
 * (proto/released/v1). Collectors in the field decode with the released schema, so a change that
 * reuses a field number, changes a field's type, drops a field without reserving it, or
 * renumbers an enum value silently corrupts their data. Used by test/proto-compat.test.ts.
 *
 * To release a schema: copy proto/picket/v1/*.proto to proto/released/v1/picket/v1/.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';

type Root = protobuf.Root;
type Type = protobuf.Type;
type Enum = protobuf.Enum;
type Field = protobuf.Field;

/** Loads every .proto file under `dir` (recursively) into one resolved Root, keeping field case. */
export function loadProtoDir(dir: string): Root {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.proto')) files.push(join(d, e.name));
    }
  };
  walk(dir);
  files.sort();
  const root = new protobuf.Root().loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

/** Parses proto source text (for tests of the rules themselves). */
export function parseProto(text: string): Root {
  const root = protobuf.parse(text, { keepCase: true }).root;
  root.resolveAll();
  return root;
}

/** All message types and enums in a root, by full name without the leading dot. */
export function collectTypes(root: Root): { messages: Map<string, Type>; enums: Map<string, Enum> } {
  const messages = new Map<string, Type>();
  const enums = new Map<string, Enum>();
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobuf.Type) messages.set(obj.fullName.slice(1), obj);
      else if (obj instanceof protobuf.Enum) enums.set(obj.fullName.slice(1), obj);
      if (obj instanceof protobuf.Namespace || obj instanceof protobuf.Type) walk(obj as protobuf.NamespaceBase);
    }
  };
  walk(root);
  return { messages, enums };
}

/** What must not change for a field number: scalar or referenced type, repeated-ness, map key. */
function signature(f: Field): string {
  const type = f.resolvedType ? f.resolvedType.fullName : f.type;
  const map = f instanceof protobuf.MapField ? `map<${f.keyType},` : '';
  return `${f.repeated ? 'repeated ' : ''}${map}${type}${map ? '>' : ''}`;
}

function isReservedId(reserved: (number[] | string)[] | undefined, id: number): boolean {
  return (reserved ?? []).some((r) => Array.isArray(r) && r[0]! <= id && id <= r[1]!);
}

function isReservedName(reserved: (number[] | string)[] | undefined, name: string): boolean {
  return (reserved ?? []).some((r) => r === name);
}

/**
 * Breaking changes from `released` to `current`, one line each; empty when compatible.
 * Adding messages, fields, enum values and reservations is always allowed.
 */
export function checkCompat(released: Root, current: Root): string[] {
  const out: string[] = [];
  const rel = collectTypes(released);
  const cur = collectTypes(current);
  for (const [name, rt] of rel.messages) {
    const ct = cur.messages.get(name);
    if (!ct) {
      out.push(`message ${name} was removed (released messages stay; deprecate fields instead)`);
      continue;
    }
    for (const rf of rt.fieldsArray) {
      const cf = ct.fieldsById[rf.id];
      if (cf) {
        if (cf.name !== rf.name) out.push(`${name}: field ${rf.id} was "${rf.name}", now reused as "${cf.name}"`);
        else if (signature(cf) !== signature(rf))
          out.push(`${name}.${rf.name} (${rf.id}): type changed from ${signature(rf)} to ${signature(cf)}`);
        continue;
      }
      if (!isReservedId(ct.reserved, rf.id)) out.push(`${name}.${rf.name} (${rf.id}) was removed without reserving number ${rf.id}`);
      if (!isReservedName(ct.reserved, rf.name) && !ct.fields[rf.name])
        out.push(`${name}.${rf.name} (${rf.id}) was removed without reserving name "${rf.name}"`);
    }
    for (const r of rt.reserved ?? []) {
      const still = Array.isArray(r) ? isReservedId(ct.reserved, r[0]!) && isReservedId(ct.reserved, r[1]!) : isReservedName(ct.reserved, r);
      if (!still) out.push(`${name}: reservation ${Array.isArray(r) ? r.join('-') : r} was dropped`);
    }
    for (const cf of ct.fieldsArray) {
      if (isReservedId(rt.reserved, cf.id)) out.push(`${name}.${cf.name} uses number ${cf.id}, reserved in the released schema`);
      else if (isReservedName(rt.reserved, cf.name)) out.push(`${name}.${cf.name} uses a name reserved in the released schema`);
    }
  }
  for (const [name, re] of rel.enums) {
    const ce = cur.enums.get(name);
    if (!ce) {
      out.push(`enum ${name} was removed`);
      continue;
    }
    const curByNumber = new Map<number, string[]>();
    for (const [v, n] of Object.entries(ce.values)) curByNumber.set(n, [...(curByNumber.get(n) ?? []), v]);
    for (const [v, n] of Object.entries(re.values)) {
      const now = ce.values[v];
      if (now === undefined) {
        const taken = curByNumber.get(n);
        if (taken) out.push(`${name}.${v} (${n}) was removed and ${n} reused by ${taken.join(', ')}`);
        else if (!isReservedId(ce.reserved, n)) out.push(`${name}.${v} (${n}) was removed without reserving ${n}`);
      } else if (now !== n) out.push(`${name}.${v} was renumbered from ${n} to ${now}`);
    }
    for (const [v, n] of Object.entries(ce.values)) {
      if (isReservedId(re.reserved, n)) out.push(`${name}.${v} uses number ${n}, reserved in the released schema`);
    }
  }
  return out;
}

/** House style: package picket.v1, enums open with <ENUM>_UNSPECIFIED = 0 and prefix every value, snake_case fields. */
export function checkStyle(root: Root): string[] {
  const out: string[] = [];
  const { messages, enums } = collectTypes(root);
  for (const name of [...messages.keys(), ...enums.keys()]) {
    if (!name.startsWith('picket.v1.')) out.push(`${name} is outside package picket.v1`);
  }
  for (const [name, e] of enums) {
    const prefix = e.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase() + '_';
    if (e.values[`${prefix}UNSPECIFIED`] !== 0) out.push(`enum ${name} must start with ${prefix}UNSPECIFIED = 0`);
    for (const v of Object.keys(e.values)) if (!v.startsWith(prefix)) out.push(`enum ${name}: value ${v} lacks prefix ${prefix}`);
  }
  for (const [name, t] of messages) {
    for (const f of t.fieldsArray) if (!/^[a-z][a-z0-9_]*$/.test(f.name)) out.push(`${name}.${f.name} is not snake_case`);
  }
  return out;
}
