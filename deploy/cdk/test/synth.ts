// The stack as the tests see it: synthesized once per variant, cdk-nag's packs applied as on every synth.
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';

import { vitalsApp } from '../lib/app.ts';
import type { VitalsStack } from '../lib/vitals-stack.ts';

export interface Synthesized {
  stack: VitalsStack;
  template: Template;
  resources: Record<string, { Type: string; Properties?: Record<string, any>; Condition?: string }>;
  /** cdk-nag's findings that no suppression covers, as `rule at path`. */
  nagFindings: string[];
}

const synthesized = new Map<boolean, Synthesized>();

export function synth(loki = false): Synthesized {
  const cached = synthesized.get(loki);
  if (cached) return cached;
  const { stack } = vitalsApp({ 'vitals:loki': loki });
  const template = Template.fromStack(stack);
  const annotations = Annotations.fromStack(stack);
  const nagFindings = [
    ...annotations.findError('*', Match.anyValue()),
    ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-|HIPAA\\.Security-|CdkNagValidationFailure')),
  ].map((finding) => `${String(finding.entry.data).split(':')[0]} at ${finding.id}`);
  const result = { stack, template, resources: template.toJSON().Resources, nagFindings };
  synthesized.set(loki, result);
  return result;
}

/** The logical id of the one resource of `type` whose properties match `where`. */
export function onlyId(s: Synthesized, type: string, where: (properties: Record<string, any>) => boolean = () => true) {
  const ids = Object.entries(s.resources)
    .filter(([, resource]) => resource.Type === type && where(resource.Properties ?? {}))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}: ${ids.join(', ')}`);
  return ids[0];
}

export const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });
