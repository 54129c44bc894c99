// What the function's StorageBridge configuration is, in one place. The repository's tests start the Host with exactly
// the environment the synthesized template holds, so these values are proven against the S3 and DynamoDB emulators.

/** The DynamoDB metadata store's table layout (StorageBridge.Metadata.DynamoDb; docs/metadata-stores.md). */
export const metadataTable = {
  partitionKey: 'pk',
  sortKey: undefined as string | undefined,
  ttlAttribute: 'ttl',
  // Sparse indexes: only items that expire carry xp/exp; only records with a completion event to deliver carry ev/evd.
  globalIndexes: [
    { name: 'expiry', partitionKey: 'xp', sortKey: 'exp', sortKeyType: 'N' as const },
    { name: 'events', partitionKey: 'ev', sortKey: 'evd', sortKeyType: 'N' as const },
  ],
  // What the store calls; no Scan, no UpdateItem, no CreateTable (the template creates the table).
  actions: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:DescribeTable',
    'dynamodb:DescribeTimeToLive',
  ],
};

/** The protected expiry endpoint the schedule calls. */
export const maintenance = {
  path: '/maintenance/expire',
  header: 'x-storagebridge-maintenance-secret',
  setting: 'StorageBridge__Maintenance__Secret',
  intervalMinutes: 15,
};

/**
 * Lambda's synchronous request payload is at most 6 MB (6,291,456 bytes). A Function URL passes a binary body
 * base64-encoded inside a JSON event, so a body of B bytes costs about 4B/3 of it: 4 MiB (4,194,304 bytes) becomes
 * 5,592,408, leaving about 680 KiB for headers and the event envelope. S3 parts must be at least 5 MiB except the
 * last, so appends this small are kept as staging tails until a part is full.
 */
export const maxAppendSize = '4MiB';

export interface BridgeEnvironmentInput {
  readonly targetName: string;
  readonly bucketName: string;
  readonly prefix: string;
  readonly expirationDays: number;
  readonly tableName: string;
  readonly region: string;
  readonly maintenanceKey: string;
}

export function bridgeEnvironment(input: BridgeEnvironmentInput): Record<string, string> {
  const target = `StorageBridge__Targets__${input.targetName}__`;
  return {
    // Lambda Web Adapter: where the app listens, when it is ready, and buffered (not streamed) responses.
    AWS_LWA_PORT: '8080',
    AWS_LWA_READINESS_CHECK_PATH: '/healthz/live',
    AWS_LWA_INVOKE_MODE: 'buffered',
    ASPNETCORE_HTTP_PORTS: '8080',
    Logging__Console__FormatterName: 'json',
    StorageBridge__Metadata__Provider: 'DynamoDb',
    StorageBridge__Metadata__TableName: input.tableName,
    StorageBridge__Metadata__Region: input.region,
    [maintenance.setting]: input.maintenanceKey,
    // The schedule runs the sweep; a timer in a frozen environment would not.
    StorageBridge__Maintenance__ExpiryTimer: 'false',
    [`${target}Backend`]: 'S3',
    [`${target}Bucket`]: input.bucketName,
    [`${target}Region`]: input.region,
    [`${target}Prefix`]: input.prefix,
    [`${target}Expiration`]: `${input.expirationDays}d`,
    [`${target}MaxAppendSize`]: maxAppendSize,
    // A DynamoDB item holds at most 400 KB: 5,000 S3 parts (ETag and checksum each) fit, 10,000 do not.
    [`${target}MaxParts`]: '5000',
    // The Function URL front end does not pass 1xx responses on.
    [`${target}InterimResponses`]: 'false',
  };
}
