// The one storage account behind both connections (AzureWebJobsStorage and AgenticStorage), with the containers,
// queues and tables the Functions host reads from before anything would create them. Identity only: shared keys are
// off, so no account key can leak from an app setting or a laptop.

param name string
param location string = resourceGroup().location
param tags object = {}

@description('Blob containers to create: the Flex deployment package.')
param containerNames string[]

@description('The container of the signed audit checkpoints: append blobs under a time-based immutability (WORM) policy.')
param wormContainerName string

@description('Days a checkpoint blob stays immutable after it is created.')
param wormRetentionDays int

@description('Queues to create, e.g. agent-runs and its poison queue.')
param queueNames string[]

@description('Tables to create, e.g. the {hub}ledger table.')
param tableNames string[]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false // identity only: every connection is DefaultAzureCredential / managed identity
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled' // no VNet yet, see the top of main.bicep
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

// Checkpoints are appended, never rewritten: protected append writes let new lines in while the policy forbids any
// change to or deletion of what is there, for the retention period.
resource wormContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: wormContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource wormPolicy 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: wormContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: wormRetentionDays
    allowProtectedAppendWrites: true
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
