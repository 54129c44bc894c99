// The CDK app: one stack. Running it (`npm run synth`) writes the CloudFormation template to cdk.out/ offline; no AWS
// account or CDK CLI is needed for that. Settings come from CDK context (cdk.json or CDK_CONTEXT_JSON) with defaults.
import { App, BootstraplessSynthesizer } from 'aws-cdk-lib';
import { StorageBridgeLambdaStack } from './lib/storagebridge-lambda-stack';

const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' });

function context(name: string): string | undefined {
  const value = app.node.tryGetContext(name);
  return value === undefined || value === null ? undefined : String(value);
}

new StorageBridgeLambdaStack(app, context('stackName') ?? 'StorageBridge', {
  targetName: context('targetName'),
  objectPrefix: context('objectPrefix'),
  expirationDays: context('expirationDays') === undefined ? undefined : Number(context('expirationDays')),
  functionUrlAuth: context('functionUrlAuth') === 'NONE' ? 'NONE' : 'AWS_IAM',
  jwtAuthority: context('jwtAuthority'),
  jwtAudience: context('jwtAudience'),
  allowAnonymous: context('allowAnonymous') === 'true',
  // No file assets (the image comes from ECR), so the template needs no CDK bootstrap: `aws cloudformation deploy`
  // or any CDK CLI can deploy it.
  synthesizer: new BootstraplessSynthesizer(),
});

app.synth();
