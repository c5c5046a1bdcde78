// The Flex Consumption Function App that hosts Functions/. Modelled on the quickstart's app/api.bicep;
// differences: user-assigned identity only, Application Insights required, and a second identity-based
// storage connection (AgenticStorage) beside AzureWebJobsStorage.

param name string
@description('Primary location for all resources & Flex Consumption Function App')
param location string = resourceGroup().location
param tags object = {}
param applicationInsightsName string
param appServicePlanId string
@description('Settings added to the generated ones; a generated setting wins on a clash.')
param appSettings object = {}
param runtimeName string
param runtimeVersion string
param serviceName string = 'api'
param storageAccountName string
param deploymentStorageContainerName string
param instanceMemoryMB int = 2048
param maximumInstanceCount int = 100
@description('Resource id of the user-assigned identity the app runs as.')
param identityId string
@description('Client id of the same identity: DefaultAzureCredential and the Functions host need it to pick it.')
param identityClientId string
param enableBlob bool = true
param enableQueue bool = true
param enableTable bool = true

var kind = 'functionapp,linux'

resource stg 'Microsoft.Storage/storageAccounts@2022-09-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// No FUNCTIONS_WORKER_RUNTIME or FUNCTIONS_EXTENSION_VERSION: Flex Consumption takes the runtime from
// functionAppConfig.runtime and rejects those settings.
var baseAppSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId

  // App Insights has local auth off, so telemetry is sent with the identity's token.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString

  // The product's own connection: host.json's durableTask.storageProvider.connectionName, the agent-runs
  // queue trigger and StorageClients all read "AgenticStorage". StorageClients takes the service URIs and
  // passes __clientId to DefaultAzureCredential; the Functions extensions read __credential and __clientId.
  // All three URIs unconditionally: Durable Functions needs blobs, queues and tables on this connection.
  AgenticStorage__credential: 'managedidentity'
  AgenticStorage__clientId: identityClientId
  AgenticStorage__blobServiceUri: stg.properties.primaryEndpoints.blob
  AgenticStorage__queueServiceUri: stg.properties.primaryEndpoints.queue
  AgenticStorage__tableServiceUri: stg.properties.primaryEndpoints.table
}

// The host's own storage endpoints, as the quickstart builds them.
var blobSettings = enableBlob ? { AzureWebJobsStorage__blobServiceUri: stg.properties.primaryEndpoints.blob } : {}
var queueSettings = enableQueue ? { AzureWebJobsStorage__queueServiceUri: stg.properties.primaryEndpoints.queue } : {}
var tableSettings = enableTable ? { AzureWebJobsStorage__tableServiceUri: stg.properties.primaryEndpoints.table } : {}

var allAppSettings = union(
  appSettings,
  blobSettings,
  queueSettings,
  tableSettings,
  baseAppSettings
)

// Create a Flex Consumption Function App to host the API
module api 'br/public:avm/res/web/site:0.15.1' = {
  name: '${serviceName}-flex-consumption'
  params: {
    kind: kind
    name: name
    location: location
    tags: union(tags, { 'azd-service-name': serviceName })
    serverFarmResourceId: appServicePlanId
    managedIdentities: {
      systemAssigned: false
      userAssignedResourceIds: [
        identityId
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${stg.properties.primaryEndpoints.blob}${deploymentStorageContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: runtimeName
        version: runtimeVersion
      }
    }
    siteConfig: {
      alwaysOn: false
    }
    appSettingsKeyValuePairs: allAppSettings
  }
}

output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = 'https://${api.outputs.defaultHostname}'
