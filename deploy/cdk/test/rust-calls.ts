// Reads the server's Rust code for the AWS calls it makes with its own credentials: the SDK operations
// reachable from the server (not only from tests or table set-up), and the SigV4-signed HTTP it sends.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

/** The IAM prefix of each AWS SDK crate the server may use: a fact about AWS, not a list of what is called. */
const IAM_PREFIX_OF_CRATE: Record<string, string> = {
  dynamodb: 'dynamodb',
  xray: 'xray',
  cognitoidentityprovider: 'cognito-idp',
  sts: 'sts',
  secretsmanager: 'secretsmanager',
  s3: 's3',
};

/** The AMP query API's paths (below /api/v1/) and the IAM action AMP authorizes each with. */
const AMP_ACTION_OF_PATH: Record<string, string> = {
  query: 'aps:QueryMetrics',
  query_range: 'aps:QueryMetrics',
  series: 'aps:GetSeries',
  labels: 'aps:GetLabels',
  label: 'aps:GetLabels',
  metadata: 'aps:GetMetricMetadata',
  remote_write: 'aps:RemoteWrite',
};

export interface SdkCall {
  /** The file, relative to server/src. */
  file: string;
  /** The function the call is in. */
  inFunction: string;
  /** The IAM action, such as `dynamodb:PutItem`. */
  action: string;
  /** Whether the client signs with the task's credentials (Cognito's user calls do not). */
  signed: boolean;
  /** Whether anything the server runs reaches the function (not only tests or table set-up). */
  reached: boolean;
}

export interface ServerCalls {
  sdk: SdkCall[];
  /** The SigV4 service names the server signs HTTP for, with the actions its paths need. */
  sigv4: { service: string; file: string; actions: string[] }[];
  /** The keys of `[dynamodb]` that name a table. */
  tableKeys: string[];
  /** The variable that sets a config key (`dynamodb.links_table`), as config.rs reads them. */
  variableOf: (key: string) => string;
}

interface RustFile {
  path: string;
  /** The code without comments, tests, or the insides of string literals. */
  code: string;
  /** The code without comments and tests, literals kept. */
  withLiterals: string;
}

/** Blanks comments, and (when `literals` is false) the insides of string and char literals, keeping offsets. */
function blank(source: string, literals: boolean): string {
  const out = source.split('');
  let i = 0;
  const wipe = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  while (i < source.length) {
    const rest = source.slice(i, i + 3);
    if (rest.startsWith('//')) {
      const end = source.indexOf('\n', i);
      const stop = end < 0 ? source.length : end;
      wipe(i, stop);
      i = stop;
    } else if (rest.startsWith('/*')) {
      let depth = 1;
      let k = i + 2;
      while (k < source.length && depth > 0) {
        if (source.startsWith('/*', k)) {
          depth++;
          k += 2;
        } else if (source.startsWith('*/', k)) {
          depth--;
          k += 2;
        } else k++;
      }
      wipe(i, k);
      i = k;
    } else if (/^r#*"/.test(rest) && !/[A-Za-z0-9_]/.test(source[i - 1] ?? '')) {
      const hashes = /^r(#*)"/.exec(source.slice(i))![1];
      const close = '"' + hashes;
      const start = i + 2 + hashes.length;
      const end = source.indexOf(close, start);
      if (!literals) wipe(start, end);
      i = end + close.length;
    } else if (source[i] === '"') {
      let k = i + 1;
      while (k < source.length && source[k] !== '"') k += source[k] === '\\' ? 2 : 1;
      if (!literals) wipe(i + 1, k);
      i = k + 1;
    } else if (source[i] === "'") {
      // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
      const literal = /^'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'/.exec(source.slice(i));
      if (literal) {
        if (!literals) wipe(i + 1, i + literal[0].length - 1);
        i += literal[0].length;
      } else i++;
    } else i++;
  }
  return out.join('');
}

/** The offset just past the `}` matching the first `{` at or after `from` (in blanked code). */
function blockEnd(code: string, from: number): number {
  const open = code.indexOf('{', from);
  let depth = 0;
  for (let k = open; k < code.length; k++) {
    if (code[k] === '{') depth++;
    else if (code[k] === '}' && --depth === 0) return k + 1;
  }
  return code.length;
}

/** Removes every item under `#[cfg(test)]`, keeping offsets; answers the test modules declared by name. */
function withoutTests(code: string, keep: string): { code: string; kept: string; testModules: string[] } {
  const out = code.split('');
  const kept = keep.split('');
  const testModules: string[] = [];
  const attribute = /#\[cfg\(test\)\]/g;
  for (let match = attribute.exec(code); match; match = attribute.exec(code)) {
    const after = code.slice(match.index + match[0].length);
    const declared = /^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_0-9]+)\s*;/.exec(after);
    let end: number;
    if (declared) {
      testModules.push(declared[1]);
      end = match.index + match[0].length + declared[0].length;
    } else {
      const semicolon = code.indexOf(';', match.index);
      const brace = code.indexOf('{', match.index);
      end = brace >= 0 && (semicolon < 0 || brace < semicolon) ? blockEnd(code, match.index) : semicolon + 1;
    }
    for (let k = match.index; k < end; k++) {
      if (out[k] !== '\n') {
        out[k] = ' ';
        kept[k] = ' ';
      }
    }
  }
  return { code: out.join(''), kept: kept.join(''), testModules };
}

function rustFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'tests' ? [] : rustFiles(path);
    return name.endsWith('.rs') && name !== 'tests.rs' ? [path] : [];
  });
}

function readServer(src: string): RustFile[] {
  const files = rustFiles(src).map((path) => {
    const source = readFileSync(path, 'utf8');
    const stripped = withoutTests(blank(source, false), blank(source, true));
    return { path, code: stripped.code, withLiterals: stripped.kept, testModules: stripped.testModules };
  });
  // A test module declared by name (`#[cfg(test)] mod properties;`) lives in a file of its own.
  const testFiles = new Set(
    files.flatMap((file) => {
      const moduleDir = ['mod.rs', 'lib.rs', 'main.rs'].includes(basename(file.path))
        ? dirname(file.path)
        : join(dirname(file.path), basename(file.path, '.rs'));
      return file.testModules.flatMap((name) => [join(moduleDir, `${name}.rs`), join(moduleDir, name, 'mod.rs')]);
    }),
  );
  return files.filter((file) => !testFiles.has(file.path));
}

interface RustFunction {
  name: string;
  file: RustFile;
  start: number;
  end: number;
}

function functionsOf(file: RustFile): RustFunction[] {
  const found: RustFunction[] = [];
  const definition = /\bfn\s+([A-Za-z_][A-Za-z0-9_]*)/g;
  for (let match = definition.exec(file.code); match; match = definition.exec(file.code)) {
    // The body's `{`, unless a `;` outside brackets ends a declaration first (in a trait).
    let depth = 0;
    let k = match.index;
    for (; k < file.code.length; k++) {
      const c = file.code[k];
      if (c === '(' || c === '[') depth++;
      else if (c === ')' || c === ']') depth--;
      else if (depth === 0 && (c === '{' || c === ';')) break;
    }
    if (file.code[k] !== '{') continue;
    found.push({ name: match[1], file, start: match.index, end: blockEnd(file.code, match.index) });
  }
  return found;
}

/** The functions some code the server runs may call: by name, starting from everything outside
 *  function bodies (routes, trait impls, statics) and dropping, until nothing changes, each function
 *  named only inside itself or inside functions already dropped. */
function reachedFunctions(files: RustFile[], functions: RustFunction[]): Set<RustFunction> {
  const live = new Set(functions);
  const mentions = (fn: RustFunction) => {
    const word = new RegExp(`\\b${fn.name}\\b`, 'g');
    for (const file of files) {
      for (let match = word.exec(file.code); match; match = word.exec(file.code)) {
        const at = match.index;
        if (file === fn.file && at >= fn.start && at < fn.end) continue;
        if (/\bfn\s+$/.test(file.code.slice(Math.max(0, at - 8), at))) continue;
        const enclosing = functions.filter((other) => other.file === file && at >= other.start && at < other.end);
        // Outside every function (a route table, a static), or inside one still live.
        if (enclosing.length === 0 || enclosing.some((other) => live.has(other))) return true;
      }
    }
    return false;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const fn of live) {
      if (fn.name !== 'main' && !mentions(fn)) {
        live.delete(fn);
        changed = true;
      }
    }
  }
  return live;
}

const pascal = (snake: string) => snake.replace(/(^|_)([a-z0-9])/g, (_, __, letter: string) => letter.toUpperCase());

/** An SDK method to its IAM action: `put_item` is PutItem; a waiter `wait_until_table_exists` polls DescribeTable. */
function actionOf(method: string): string {
  const waiter = /^wait_until_(.+?)_(?:not_)?exists$/.exec(method);
  return waiter ? `Describe${pascal(waiter[1])}` : pascal(method);
}

export function serverCalls(serverDir: string): ServerCalls {
  const src = join(serverDir, 'src');
  const files = readServer(src);
  const functions = files.flatMap(functionsOf);
  const reached = reachedFunctions(files, functions);
  const sdk: SdkCall[] = [];
  for (const file of files) {
    const crates = [...new Set([...file.code.matchAll(/\baws_sdk_([a-z0-9]+)::/g)].map((match) => match[1]))];
    // Only files that use an SDK crate hold SDK clients; a `client` elsewhere is a person's address.
    if (crates.length === 0) continue;
    // An operation is a method taking nothing, called on an SDK client (`client.put_item()`).
    const operation = /\bclient\s*\.\s*([a-z_][a-z0-9_]*)\s*\(\s*\)/g;
    for (let match = operation.exec(file.code); match; match = operation.exec(file.code)) {
      if (['clone', 'config'].includes(match[1])) continue;
      if (crates.length !== 1) {
        throw new Error(`${relative(src, file.path)} calls an AWS client but names ${crates.length} SDK crates`);
      }
      const prefix = IAM_PREFIX_OF_CRATE[crates[0]];
      if (!prefix) throw new Error(`no IAM prefix known for aws_sdk_${crates[0]}; add it to IAM_PREFIX_OF_CRATE`);
      const enclosing = functions
        .filter((fn) => fn.file === file && match!.index >= fn.start && match!.index < fn.end)
        .sort((a, b) => b.start - a.start)[0];
      sdk.push({
        file: relative(src, file.path),
        inFunction: enclosing?.name ?? '(outside a function)',
        action: `${prefix}:${actionOf(match[1])}`,
        // Calls of a client built with `Credentials::Unsigned` carry what authenticates them instead.
        signed: !/\bCredentials::Unsigned\b/.test(file.code),
        reached: enclosing ? reached.has(enclosing) : true,
      });
    }
  }

  const sigv4 = files
    .filter((file) => /\baws_sigv4::/.test(file.code))
    .flatMap((file) => {
      const service = /\bSERVICE\s*:\s*&str\s*=\s*"([a-z0-9-]+)"/.exec(file.withLiterals)?.[1];
      if (!service) throw new Error(`${relative(src, file.path)} signs with SigV4 but names no SERVICE`);
      // The paths the signing source asks for: every ["api", "v1", "<path>", …] in its module.
      const moduleFiles = files.filter(
        (other) => dirname(other.path) === dirname(file.path) || other.path.startsWith(join(dirname(file.path), basename(file.path, '.rs'))),
      );
      const paths = new Set(
        moduleFiles.flatMap((other) => [...other.withLiterals.matchAll(/\[\s*"api"\s*,\s*"v1"\s*,\s*"([a-z_]+)"/g)].map((m) => m[1])),
      );
      const actions = [...paths].map((path) => {
        const action = AMP_ACTION_OF_PATH[path];
        if (!action) throw new Error(`no ${service} action known for /api/v1/${path}; add it to AMP_ACTION_OF_PATH`);
        return action;
      });
      return [{ service, file: relative(src, file.path), actions: [...new Set(actions)].sort() }];
    });

  const dynamoConfig = files.find((file) => file.path.endsWith(join('store', 'dynamo', 'mod.rs')));
  const configStruct = dynamoConfig?.code.slice(dynamoConfig.code.indexOf('pub struct DynamoConfig'));
  const tableKeys = configStruct
    ? [...configStruct.slice(0, blockEnd(configStruct, 0)).matchAll(/\bpub\s+([a-z_]*table)\s*:/g)].map((m) => m[1])
    : [];
  // Keys keep the variables they had before the VITALS_<SECTION>_<KEY> rule (config.rs, NAMED_BEFORE).
  const config = files.find((file) => file.path.endsWith(join('src', 'config.rs')));
  const namedBefore = config?.withLiterals.slice(config.withLiterals.indexOf('const NAMED_BEFORE'));
  const before = new Map(
    [...(namedBefore?.slice(0, namedBefore.indexOf('];')) ?? '').matchAll(/\(\s*"(VITALS_[A-Z_]+)"\s*,\s*"([a-z_.]+)"\s*\)/g)].map(
      (m) => [m[2], m[1]],
    ),
  );
  const variableOf = (key: string) => before.get(key) ?? `VITALS_${key.replace('.', '_').toUpperCase()}`;
  return { sdk, sigv4, tableKeys, variableOf };
}
