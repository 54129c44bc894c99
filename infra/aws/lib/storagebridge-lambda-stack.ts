// StorageBridge as an AWS Lambda container: the Host image with the Lambda Web Adapter, a Function URL, an S3 bucket for
// objects, a DynamoDB table for upload metadata, and a schedule that runs the expiry sweep (a hosted timer does not
// run while the function is frozen between invocations).
import { CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { bridgeAuth, bridgeEnvironment, maintenance, metadataTable } from './bridge-settings';

export interface StorageBridgeLambdaProps extends StackProps {
  /** Target name in upload URLs (`/uploads/{target}`). Default `uploads`. */
  readonly targetName?: string;
  /** Key prefix of every object and staging tail in the bucket; the function's S3 rights stop at it. Default `uploads/`. */
  readonly objectPrefix?: string;
  /** Lifetime of an incomplete upload in days (the target's `Expiration`). Default 1. */
  readonly expirationDays?: number;
  /** Function URL auth: `AWS_IAM` (default; callers sign with SigV4) or `NONE` (public; protect the targets instead). */
  readonly functionUrlAuth?: 'AWS_IAM' | 'NONE';
  /** JWT issuer the bridge checks bearer tokens against (needs `functionUrlAuth` NONE and `jwtAudience`). */
  readonly jwtAuthority?: string;
  /** Audience of those tokens. */
  readonly jwtAudience?: string;
  /** With `functionUrlAuth` NONE and no JWT: let anyone upload (trials only). */
  readonly allowAnonymous?: boolean;
}

/** Days S3 keeps incomplete multipart uploads and staging tails after the bridge's own expiry should have removed them. */
const lifecycleGraceDays = 2;

export class StorageBridgeLambdaStack extends Stack {
  constructor(scope: Construct, id: string, props: StorageBridgeLambdaProps = {}) {
    super(scope, id, props);

    const targetName = props.targetName ?? 'uploads';
    const prefix = props.objectPrefix ?? 'uploads/';
    const expirationDays = props.expirationDays ?? 1;
    if (!/^[a-z0-9-]{1,64}$/.test(targetName)) throw new Error(`targetName '${targetName}': lowercase letters, digits and '-' only`);
    if (prefix === '' || !prefix.endsWith('/')) throw new Error(`objectPrefix '${prefix}' must be non-empty and end with '/'`);
    if (!Number.isInteger(expirationDays) || expirationDays < 1) throw new Error(`expirationDays ${expirationDays}: a whole number of days, at least 1`);

    const repositoryName = new CfnParameter(this, 'ImageRepositoryName', {
      type: 'String',
      description: 'ECR repository holding the StorageBridge Lambda image (deploy/lambda/Dockerfile)',
    });
    const imageTag = new CfnParameter(this, 'ImageTag', { type: 'String', default: 'latest' });

    const bucket = new s3.Bucket(this, 'Objects', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          // The bridge aborts what it abandons; this catches what it cannot (a deleted stack, a lost table).
          id: 'abort-incomplete-multipart-uploads',
          prefix,
          abortIncompleteMultipartUploadAfter: Duration.days(expirationDays + lifecycleGraceDays),
        },
        {
          id: 'expire-staging-tails',
          prefix: `${prefix}.storagebridge-staging/`,
          expiration: Duration.days(expirationDays + lifecycleGraceDays),
        },
      ],
    });

    const table = new dynamodb.Table(this, 'Metadata', {
      partitionKey: { name: metadataTable.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: metadataTable.sortKey === undefined ? undefined : { name: metadataTable.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: metadataTable.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of metadataTable.globalIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: index.sortKey === undefined ? undefined : { name: index.sortKey, type: index.sortKeyType === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.KEYS_ONLY,
      });
    }

    // The key the schedule presents to the maintenance endpoint; the Function URL may be public.
    const maintenanceKey = new secretsmanager.Secret(this, 'MaintenanceKey', {
      description: 'StorageBridge maintenance endpoint key (expiry sweep)',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
    });

    const fn = new lambda.DockerImageFunction(this, 'Bridge', {
      code: lambda.DockerImageCode.fromEcr(ecr.Repository.fromRepositoryName(this, 'Images', repositoryName.valueAsString), {
        tagOrDigest: imageTag.valueAsString,
      }),
      architecture: lambda.Architecture.X86_64,
      memorySize: 1024,
      // Appends are at most 4 MiB; completion of a large upload (S3 CompleteMultipartUpload) is the longest call.
      timeout: Duration.minutes(5),
      environment: bridgeEnvironment({
        targetName,
        bucketName: bucket.bucketName,
        prefix,
        expirationDays,
        tableName: table.tableName,
        region: this.region,
        maintenanceKey: maintenanceKey.secretValue.unsafeUnwrap(),
        auth: bridgeAuth(props.functionUrlAuth ?? 'AWS_IAM', props.jwtAuthority, props.jwtAudience, props.allowAnonymous ?? false),
      }),
    });

    this.grantLeastPrivilege(fn, bucket, prefix, table);

    const url = fn.addFunctionUrl({
      authType: props.functionUrlAuth === 'NONE' ? lambda.FunctionUrlAuthType.NONE : lambda.FunctionUrlAuthType.AWS_IAM,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });

    // EventBridge Scheduler invokes the function directly (never through the URL) with a Function-URL-shaped event,
    // which the Lambda Web Adapter turns into `POST {maintenance.path}` carrying the key header.
    new scheduler.Schedule(this, 'ExpirySweep', {
      description: 'StorageBridge: expire forgotten uploads',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(maintenance.intervalMinutes)),
      target: new schedulerTargets.LambdaInvoke(fn, {
        input: scheduler.ScheduleTargetInput.fromObject(maintenanceEvent(maintenanceKey.secretValue.unsafeUnwrap())),
        retryAttempts: 0,
      }),
    });

    new CfnOutput(this, 'FunctionUrl', { value: url.url });
    new CfnOutput(this, 'UploadsUrl', { value: `${url.url}uploads/${targetName}` });
    new CfnOutput(this, 'BucketName', { value: bucket.bucketName });
    new CfnOutput(this, 'TableName', { value: table.tableName });
  }

  /** S3 rights only under the prefix; DynamoDB item rights only on the one table and its indexes. */
  private grantLeastPrivilege(fn: lambda.IFunction, bucket: s3.IBucket, prefix: string, table: dynamodb.ITable): void {
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ObjectsUnderPrefix',
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [bucket.arnForObjects(`${prefix}*`)],
    }));
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ListPrefix',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    }));
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'MetadataTable',
      actions: metadataTable.actions,
      resources: [table.tableArn, `${table.tableArn}/index/*`],
    }));
  }
}

/** A Lambda Function URL (payload 2.0) event for the maintenance request. */
function maintenanceEvent(key: string): Record<string, unknown> {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: maintenance.path,
    rawQueryString: '',
    headers: { [maintenance.header]: key, 'content-type': 'application/json' },
    requestContext: {
      http: { method: 'POST', path: maintenance.path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'StorageBridge-ExpirySchedule' },
      routeKey: '$default',
      stage: '$default',
    },
    body: '',
    isBase64Encoded: false,
  };
}
