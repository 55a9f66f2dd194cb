// The task role grants exactly the AWS calls the server's code makes with its credentials: read from
// the Rust code, compared with the synthesized policy, statement by statement and table by table.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { collectorConfig } from '../lib/collector.ts';
import { STORE_TABLES } from '../lib/server-access.ts';
import { serverCalls } from './rust-calls.ts';
import { getAtt, onlyId, synth } from './synth.ts';

const SERVER_DIR = join(import.meta.dirname, '..', '..', '..', 'server');
const calls = serverCalls(SERVER_DIR);
const signed = calls.sdk.filter((call) => call.signed && call.reached);

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
  Condition?: unknown;
  Sid?: string;
}
const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

function policyOf(id: string): Statement[] {
  const { resources } = synth();
  return resources[id].Properties!.PolicyDocument.Statement;
}

function taskRole() {
  const s = synth();
  const taskDefinition = onlyId(s, 'AWS::ECS::TaskDefinition', (p) =>
    p.ContainerDefinitions.some((c: { Name: string }) => c.Name === 'vitals'),
  );
  const roleId = s.resources[taskDefinition].Properties!.TaskRoleArn['Fn::GetAtt'][0];
  return { id: roleId, role: s.resources[roleId] };
}

/** The managed policies the task role carries, by their ids. */
function taskPolicies(): string[] {
  return list(taskRole().role.Properties!.ManagedPolicyArns ?? []).map((arn: any) => arn.Ref);
}

const serverPolicyId = () => synth().stack.getLogicalId(synth().stack.serverPolicy.node.defaultChild as any);
const collectorPolicyId = () => synth().stack.getLogicalId(synth().stack.collectorPolicy.node.defaultChild as any);

describe('the server policy is what the Rust code calls', () => {
  it('finds the calls it compares: X-Ray reads, DynamoDB item calls and AMP queries', () => {
    const actions = sorted(signed.map((call) => call.action));
    assert.ok(actions.includes('xray:GetTraceSummaries'), actions.join(' '));
    assert.ok(actions.includes('dynamodb:PutItem'), actions.join(' '));
    assert.deepEqual(calls.sigv4.map((sigv4) => sigv4.service), ['aps']);
  });

  it('grants no action to Cognito: its login calls are unsigned, and the JWKS is a public document', () => {
    const cognito = calls.sdk.filter((call) => call.action.startsWith('cognito-idp:'));
    const seen = sorted(cognito.filter((call) => call.reached).map((call) => call.action));
    for (const action of ['InitiateAuth', 'RespondToAuthChallenge', 'AssociateSoftwareToken', 'VerifySoftwareToken']) {
      assert.ok(seen.includes(`cognito-idp:${action}`), `the scan should see ${action}: ${seen.join(' ')}`);
    }
    assert.ok(cognito.every((call) => !call.signed), JSON.stringify(cognito));
    const granted = policyOf(serverPolicyId()).flatMap((statement) => list(statement.Action));
    assert.deepEqual(granted.filter((action) => action.startsWith('cognito-idp:')), []);
  });

  it('grants no table set-up: only tests create tables, the stack makes them', () => {
    const setUp = calls.sdk.filter((call) => /CreateTable|UpdateTimeToLive|DescribeTable/.test(call.action));
    assert.ok(setUp.length > 0 && setUp.every((call) => !call.reached), JSON.stringify(setUp));
  });

  it('the task role carries the server policy and the collector policy, and nothing else', () => {
    const { role } = taskRole();
    assert.deepEqual(sorted(taskPolicies()), sorted([serverPolicyId(), collectorPolicyId()]));
    assert.equal(role.Properties!.Policies, undefined, 'no inline policy on the task role');
    const attached = Object.values(synth().resources).filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        list(resource.Properties!.Roles ?? []).some((roleRef: any) => roleRef.Ref === taskRole().id),
    );
    assert.deepEqual(attached, [], 'no other policy names the task role');
  });

  it('grants exactly the X-Ray reads the code calls, on "*" since X-Ray has no ARNs for them', () => {
    const wanted = sorted(signed.filter((call) => call.action.startsWith('xray:')).map((call) => call.action));
    const statements = policyOf(serverPolicyId()).filter((statement) =>
      list(statement.Action).some((action) => action.startsWith('xray:')),
    );
    assert.equal(statements.length, 1);
    assert.deepEqual(sorted(list(statements[0].Action)), wanted);
    assert.equal(statements[0].Resource, '*');
  });

  it('grants exactly the AMP queries the Prometheus source signs, on the workspace alone', () => {
    const wanted = sorted(calls.sigv4.flatMap((sigv4) => sigv4.actions));
    const statements = policyOf(serverPolicyId()).filter((statement) =>
      list(statement.Action).some((action) => action.startsWith('aps:')),
    );
    assert.equal(statements.length, 1);
    assert.deepEqual(sorted(list(statements[0].Action)), wanted);
    assert.deepEqual(statements[0].Resource, getAtt(onlyId(synth(), 'AWS::APS::Workspace'), 'Arn'));
  });

  it('grants each table exactly the DynamoDB calls of its store, by the table ARN', () => {
    const s = synth();
    const statements = policyOf(serverPolicyId()).filter((statement) =>
      list(statement.Action).some((action) => action.startsWith('dynamodb:')),
    );
    const shared = signed.filter((call) => call.file === join('store', 'dynamo', 'table.rs')).map((call) => call.action);
    const stores = sorted(
      signed.filter((call) => call.action.startsWith('dynamodb:')).map((call) => call.file.split('/').pop()!.replace('.rs', '')),
    ).filter((store) => store !== 'table');
    assert.deepEqual(stores, sorted(STORE_TABLES.map((table) => table.store)), 'every store that calls DynamoDB has its table');
    for (const table of STORE_TABLES) {
      const wanted = sorted([
        ...shared,
        ...signed.filter((call) => call.file === join('store', 'dynamo', `${table.store}.rs`)).map((call) => call.action),
      ]);
      const tableId = onlyId(s, 'AWS::DynamoDB::Table', (p) => p.KeySchema[0].AttributeName === table.partitionKey);
      const granted = statements.filter((statement) => JSON.stringify(statement.Resource) === JSON.stringify(getAtt(tableId, 'Arn')));
      assert.equal(granted.length, 1, `one statement for the ${table.store} table`);
      assert.deepEqual(sorted(list(granted[0].Action)), wanted, `the ${table.store} table`);
    }
    assert.equal(statements.length, STORE_TABLES.length, 'no DynamoDB statement beyond the tables');
  });

  it('grants the table key only through DynamoDB, for the tables it encrypts', () => {
    const s = synth();
    const keyStatements = policyOf(serverPolicyId()).filter((statement) =>
      list(statement.Action).some((action) => action.startsWith('kms:')),
    );
    assert.equal(keyStatements.length, 1);
    const [statement] = keyStatements;
    assert.deepEqual(sorted(list(statement.Action)), ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
    assert.match(JSON.stringify(statement.Condition), /kms:ViaService.*dynamodb\./);
    for (const table of Object.values(s.resources).filter((resource) => resource.Type === 'AWS::DynamoDB::Table')) {
      assert.deepEqual(table.Properties!.SSESpecification.KMSMasterKeyId, statement.Resource);
    }
  });

  it('grants nothing else: every statement is one of the above, with no wildcard action', () => {
    for (const statement of [...policyOf(serverPolicyId()), ...policyOf(collectorPolicyId())]) {
      assert.equal(statement.Effect, 'Allow');
      for (const action of list(statement.Action)) {
        assert.ok(!action.includes('*'), `wildcard action ${action}`);
        assert.match(action, /^(xray|aps|dynamodb|kms):/, `unexpected action ${action}`);
      }
      if (statement.Resource === '*') {
        assert.ok(list(statement.Action).every((action) => action.startsWith('xray:')), `"*" for ${statement.Action}`);
      }
    }
  });

  it('the collector policy is what its configuration exports: X-Ray segments and AMP remote write', () => {
    const config = collectorConfig('region', 'url');
    const wanted = sorted([
      ...(/\n {2}awsxray:/.test(config) ? ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'] : []),
      ...(/\n {2}prometheusremotewrite:/.test(config) ? ['aps:RemoteWrite'] : []),
    ]);
    const granted = sorted(policyOf(collectorPolicyId()).flatMap((statement) => list(statement.Action)));
    assert.deepEqual(granted, wanted);
  });

  it('every table a [dynamodb] key names exists, and the task names it by its variable', () => {
    const s = synth();
    assert.deepEqual(sorted(calls.tableKeys), sorted(STORE_TABLES.map((table) => table.configKey)));
    const taskDefinition = onlyId(s, 'AWS::ECS::TaskDefinition', (p) =>
      p.ContainerDefinitions.some((c: { Name: string }) => c.Name === 'vitals'),
    );
    const vitals = s.resources[taskDefinition].Properties!.ContainerDefinitions.find((c: { Name: string }) => c.Name === 'vitals');
    const environment = Object.fromEntries(vitals.Environment.map((v: { Name: string; Value: unknown }) => [v.Name, v.Value]));
    for (const table of STORE_TABLES) {
      const tableId = onlyId(s, 'AWS::DynamoDB::Table', (p) => p.KeySchema[0].AttributeName === table.partitionKey);
      assert.equal(table.variable, calls.variableOf(`dynamodb.${table.configKey}`), 'the variable the server reads');
      assert.deepEqual(environment[table.variable], { Ref: tableId }, table.variable);
    }
  });
});
