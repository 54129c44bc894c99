// StorageBridge as an Azure Function App (isolated worker, .NET) on the Flex Consumption plan, with a Cosmos DB
// metadata store and an Azure Blob upload container. Every connection is identity-based: one user-assigned managed
// identity holds data-plane roles scoped to what it needs, and no app setting carries a key (shared-key access and
// Cosmos DB local auth are turned off). See docs/deploy/functions.md.

targetScope = 'resourceGroup'

@description('Location of every resource (Flex Consumption must be offered there).')
param location string = resourceGroup().location

@description('Prefix of the resource names (lowercase letters and digits, 3-11 characters).')
@minLength(3)
@maxLength(11)
param namePrefix string = 'sbridge'

@description('Blob container that receives the uploaded objects.')
param uploadContainerName string = 'uploads'

@description('Cosmos DB database and container of the upload records.')
param cosmosDatabaseName string = 'storagebridge'
param cosmosContainerName string = 'uploads'

@description('Lifetime of an unfinished upload before the expiry pass drops it (StorageBridge duration syntax).')
param uploadExpiration string = '1d'

// Who may upload (StorageBridge:Targets:default:Auth). A Function App is on the internet, so the bridge refuses to
// start unless the target states its authentication: Entra ID tokens (authority and audience of an app registration),
// or anonymous uploads said out loud (trials only: anyone with the URL could upload).
@description('Entra ID token authority, e.g. https://login.microsoftonline.com/{tenant id}/v2.0. Empty: no JWT.')
param jwtAuthority string = ''

@description('Audience of the tokens: the app registration\'s Application ID URI or client id.')
param jwtAudience string = ''

@description('Let anyone with the URL upload ("true"), for trials. Without JWT settings or this, the app refuses to start.')
@allowed([
  'true'
  'false'
])
param allowAnonymous string = 'false'

@description('Largest instance count the plan scales out to (Flex Consumption: 40 to 1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each instance in MB (Flex Consumption: 2048 or 4096).')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('.NET version of the isolated worker.')
param dotnetVersion string = '10.0'

var suffix = uniqueString(resourceGroup().id, namePrefix)
var functionAppName = '${namePrefix}-func-${suffix}'
// Storage account names: 3-24 lowercase letters and digits.
var runtimeStorageName = take('${namePrefix}rt${suffix}', 24)
var dataStorageName = take('${namePrefix}up${suffix}', 24)
var deploymentContainerName = 'app-package'

// Built-in role definitions (ids are the same in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var cosmosBuiltInDataContributor = '00000000-0000-0000-0000-000000000002'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-id-${suffix}'
  location: location
}

// --- The Functions runtime's own storage (AzureWebJobsStorage: timer locks, host keys) and the deployment package.

resource runtimeStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: runtimeStorageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource runtimeBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: runtimeStorage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: runtimeBlobService
  name: deploymentContainerName
}

// The runtime account belongs to the Function App alone: the host needs blobs (locks, keys, the package), queues and
// tables there.
resource runtimeBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: runtimeStorage
  name: guid(runtimeStorage.id, identity.id, storageBlobDataOwner)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource runtimeQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: runtimeStorage
  name: guid(runtimeStorage.id, identity.id, storageQueueDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource runtimeTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: runtimeStorage
  name: guid(runtimeStorage.id, identity.id, storageTableDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// --- The uploaded objects: their own account, reachable by the identity only inside the upload container.

resource dataStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: dataStorageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource dataBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: dataStorage
  name: 'default'
}

resource uploadContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: dataBlobService
  name: uploadContainerName
}

resource uploadContainerContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: uploadContainer
  name: guid(uploadContainer.id, identity.id, storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// --- Upload records: Cosmos DB (NoSQL API), serverless, Entra ID only.

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: '${namePrefix}-cosmos-${suffix}'
  location: location
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: [
      {
        name: 'EnableServerless'
      }
    ]
  }
}

resource cosmosDatabase 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: cosmos
  name: cosmosDatabaseName
  properties: {
    resource: {
      id: cosmosDatabaseName
    }
  }
}

// Partitioned on /id (the upload id) as the store expects. defaultTtl -1: TTL is on, but only items carrying their
// own ttl expire; the store writes ttl = time left + TtlGrace on every record, as a safety net behind the expiry pass.
resource cosmosContainer 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: cosmosDatabase
  name: cosmosContainerName
  properties: {
    resource: {
      id: cosmosContainerName
      partitionKey: {
        paths: [
          '/id'
        ]
        kind: 'Hash'
      }
      defaultTtl: -1
      // The same policy the store gives containers it creates: only the expiry and due-event queries filter on a field, so
      // indexing every property (each entry of a record's part list too) would only raise the RU cost of a write.
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          { path: '/expiresAtMs/?' }
          { path: '/lookupExpiresAtMs/?' }
          { path: '/eventsDueAtMs/?' }
        ]
        excludedPaths: [
          { path: '/*' }
        ]
      }
    }
  }
}

// Cosmos DB Built-in Data Contributor on this database only (data plane; control-plane RBAC does not apply here).
resource cosmosDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmos
  name: guid(cosmosDatabase.id, identity.id, cosmosBuiltInDataContributor)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosBuiltInDataContributor}'
    principalId: identity.properties.principalId
    scope: '${cosmos.id}/dbs/${cosmosDatabase.name}'
  }
}

// --- The Function App.

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${namePrefix}-plan-${suffix}'
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${runtimeStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        // The Functions runtime's storage, through the identity (no connection string).
        { name: 'AzureWebJobsStorage__accountName', value: runtimeStorage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
        // DefaultAzureCredential in the bridge (Cosmos DB store, Azure Blob backend) picks this identity.
        { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
        // Metadata: Cosmos DB with Entra ID (no Key). The container exists (above): no create at start-up.
        { name: 'StorageBridge__Metadata__Provider', value: 'Cosmos' }
        { name: 'StorageBridge__Metadata__Endpoint', value: cosmos.properties.documentEndpoint }
        { name: 'StorageBridge__Metadata__Database', value: cosmosDatabase.name }
        { name: 'StorageBridge__Metadata__Container', value: cosmosContainer.name }
        { name: 'StorageBridge__Metadata__ConnectionMode', value: 'Gateway' }
        { name: 'StorageBridge__Metadata__CreateIfMissing', value: 'false' }
        // The default target: the upload container, through the identity (ServiceUri, no connection string).
        { name: 'StorageBridge__Targets__default__Backend', value: 'AzureBlob' }
        { name: 'StorageBridge__Targets__default__ServiceUri', value: dataStorage.properties.primaryEndpoints.blob }
        { name: 'StorageBridge__Targets__default__Container', value: uploadContainer.name }
        { name: 'StorageBridge__Targets__default__CreateContainerIfMissing', value: 'false' }
        { name: 'StorageBridge__Targets__default__Expiration', value: uploadExpiration }
        // The Functions profile (the app applies it anyway): no 104 responses, appends within the 100 MB front end.
        { name: 'StorageBridge__Targets__default__InterimResponses', value: 'false' }
        { name: 'StorageBridge__Targets__default__MaxAppendSize', value: '100MiB' }
        // Authentication, stated explicitly (parameters above): JWT bearer tokens from Entra ID, or a declared trial.
        { name: 'StorageBridge__Targets__default__Auth__Jwt__Authority', value: jwtAuthority }
        { name: 'StorageBridge__Targets__default__Auth__Jwt__Audience', value: jwtAudience }
        { name: 'StorageBridge__Targets__default__Auth__Anonymous', value: allowAnonymous }
      ]
    }
  }
  dependsOn: [
    // The host reads its storage and the bridge its store at start-up: the roles must exist first.
    runtimeBlobOwner
    runtimeQueueContributor
    runtimeTableContributor
    uploadContainerContributor
    cosmosDataContributor
    deploymentContainer
  ]
}

output functionAppName string = functionApp.name
output uploadsUrl string = 'https://${functionApp.properties.defaultHostName}/uploads/default'
output identityClientId string = identity.properties.clientId
output uploadStorageAccount string = dataStorage.name
output cosmosEndpoint string = cosmos.properties.documentEndpoint
