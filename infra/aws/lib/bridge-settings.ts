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

/**
 * Who may use the target (StorageBridge:Targets:{name}:Auth). The service is exposed (it listens on all interfaces),
 * so the bridge refuses to start with a target that states no authentication: either JWT bearer tokens, or
 * anonymous access said out loud.
 */
export interface BridgeAuth {
  /** Token issuer (OpenID Connect authority), e.g. a Cognito user pool `https://cognito-idp.{region}.amazonaws.com/{poolId}`. */
  readonly jwtAuthority?: string;
  /** Audience the tokens must carry (a Cognito app client id). Required with `jwtAuthority`. */
  readonly jwtAudience?: string;
  /** The bridge itself lets every request in (`Auth:Anonymous`). */
  readonly anonymous: boolean;
}

/**
 * The bridge's authentication for a Function URL auth type. With `AWS_IAM` the URL admits only SigV4-signed requests
 * of principals allowed to invoke it, and the signature occupies the Authorization header, so no bearer token can ride
 * along: the bridge is told to let the (already authenticated) requests in. With `NONE` the URL is public and the
 * bridge must check tokens itself: a JWT authority and audience, or `allowAnonymous` for a trial.
 */
export function bridgeAuth(functionUrlAuth: 'AWS_IAM' | 'NONE', jwtAuthority?: string, jwtAudience?: string, allowAnonymous = false): BridgeAuth {
  if (jwtAuthority !== undefined && jwtAudience === undefined) throw new Error('jwtAuthority needs jwtAudience');
  if (functionUrlAuth === 'AWS_IAM') {
    if (jwtAuthority !== undefined) throw new Error('jwtAuthority needs functionUrlAuth NONE: with AWS_IAM the Authorization header carries the SigV4 signature');
    return { anonymous: true };
  }

  if (jwtAuthority === undefined && !allowAnonymous) {
    throw new Error('functionUrlAuth NONE makes the URL public: set jwtAuthority and jwtAudience, or allowAnonymous "true" for a trial');
  }

  return { jwtAuthority, jwtAudience, anonymous: jwtAuthority === undefined };
}

export interface BridgeEnvironmentInput {
  readonly targetName: string;
  readonly bucketName: string;
  readonly prefix: string;
  readonly expirationDays: number;
  readonly tableName: string;
  readonly region: string;
  readonly maintenanceKey: string;
  readonly auth: BridgeAuth;
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
    // Stated explicitly (bridgeAuth): anonymous only behind the URL's own AWS_IAM check, or as a declared trial.
    [`${target}Auth__Anonymous`]: input.auth.anonymous ? 'true' : 'false',
    ...(input.auth.jwtAuthority === undefined
      ? {}
      : { [`${target}Auth__Jwt__Authority`]: input.auth.jwtAuthority, [`${target}Auth__Jwt__Audience`]: input.auth.jwtAudience ?? '' }),
  };
}
