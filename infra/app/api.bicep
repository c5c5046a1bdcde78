// The Flex Consumption Function App that hosts Functions/, its plan, its settings and App Service authentication.
// Modelled on the quickstart's app/api.bicep, as plain resources so that infra/ compiles without a registry;
// differences: user-assigned identity only, Application Insights required, a second identity-based storage connection
// (AgenticStorage) beside AzureWebJobsStorage, and Entra ID authentication in front of every function.
//
// The settings are one literal object, not a union of computed ones, so that the compiled template names every
// setting and tests/Agentic.Functions.Tests can hold it against the settings the code reads.

param name string
param planName string
@description('Primary location for all resources & Flex Consumption Function App')
param location string = resourceGroup().location
param tags object = {}
param serviceName string = 'api'
param runtimeName string
param runtimeVersion string
param instanceMemoryMB int = 2048
param maximumInstanceCount int = 100
param applicationInsightsName string
param storageAccountName string
param deploymentStorageContainerName string
@description('Resource id of the user-assigned identity the app runs as.')
param identityId string
@description('Client id of the same identity: DefaultAzureCredential and the Functions host need it to pick it.')
param identityClientId string
@description('Prefix of every Agentic table, queue and blob container (Agentic:HubName).')
param hubName string
@description('The vault tool secrets are read from (Agentic:KeyVault:Uri).')
param keyVaultUri string
@description('Tenant of the Entra ID app registration that callers get tokens for.')
param authTenantId string
@description('Client id (appId) of that app registration; the preprovision hook creates it with the app roles.')
param authClientId string

// The Entra ID v2.0 issuer of the tenant; environment() keeps it right in sovereign clouds.
var authority = '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'

resource stg 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Flex Consumption: scale to zero between runs, and per-instance scale-out for fan-out of activities.
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource api 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // "api" must match the service name in azure.yaml, or azd deploy finds no target.
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
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
  }
}

// No FUNCTIONS_WORKER_RUNTIME or FUNCTIONS_EXTENSION_VERSION: Flex Consumption takes the runtime from
// functionAppConfig.runtime and rejects those settings.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: api
  name: 'appsettings'
  properties: {
    // The host's own storage, identity-based like everything else.
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: stg.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: stg.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: stg.properties.primaryEndpoints.table

    // App Insights has local auth off, so telemetry is sent with the identity's token.
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString

    // The product's own connection: host.json's durableTask.storageProvider.connectionName, the agent-runs queue
    // trigger and StorageClients all read "AgenticStorage". StorageClients takes the service URIs and passes __clientId
    // to DefaultAzureCredential; the Functions extensions read __credential and __clientId. All three URIs: Durable
    // Functions needs blobs, queues and tables on this connection.
    AgenticStorage__credential: 'managedidentity'
    AgenticStorage__clientId: identityClientId
    AgenticStorage__blobServiceUri: stg.properties.primaryEndpoints.blob
    AgenticStorage__queueServiceUri: stg.properties.primaryEndpoints.queue
    AgenticStorage__tableServiceUri: stg.properties.primaryEndpoints.table

    // AgenticStorageOptions: which connection, which hub.
    Agentic__StorageConnection: 'AgenticStorage'
    Agentic__HubName: hubName

    // The deployment says which environment it is (policies see it as context.environment; callers can not change it).
    // Azure is where the product runs in production; dev and test are the local host's.
    Agentic__Environment: 'prod'

    // Tool secrets from Key Vault with the app's identity (user-assigned, so DefaultAzureCredential must be told which).
    Agentic__KeyVault__Uri: keyVaultUri
    Agentic__KeyVault__ClientId: identityClientId

    // How often the monitors' timer (MonitorTick, bound to %Agentic:Monitors:Schedule%) looks for monitors that are due:
    // every 15 seconds, NCRONTAB with seconds. The function does not index without it.
    Agentic__Monitors__Schedule: '*/15 * * * * *'

    // Bearer tokens the code validates itself, for the same app registration App Service authentication checks below.
    // v2.0 tokens (the hook sets requestedAccessTokenVersion 2), whose audience is the client id.
    Agentic__Auth__Jwt__Authority: authority
    Agentic__Auth__Jwt__Audience: authClientId
  }
}

// App Service authentication in front of every function: a call without a valid Entra ID token for this app gets 401
// before any function runs, and the platform replaces any X-MS-CLIENT-PRINCIPAL* header a client sends with the
// verified principal (roles = the app roles in the token), which is what the triggers read.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: api
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      // The one route the API serves to anonymous callers (it says only whether the app is up), for probes. The dashboard
      // (/api/dashboard/, served by the app itself) is not excluded: only signed-in users of the tenant load it.
      excludedPaths: [
        '/api/health'
      ]
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          openIdIssuer: authority
          clientId: authClientId
        }
        validation: {
          // v2.0 tokens carry the client id; a v1.0 token asked for with the application ID URI carries that.
          allowedAudiences: [
            authClientId
            'api://${authClientId}'
          ]
        }
      }
    }
    login: {
      // People sign in through the browser for the dashboard (/.auth/login/aad, a session cookie; the postprovision hook
      // registers the callback); the API reads only the principal the platform passes on, so no token store.
      tokenStore: {
        enabled: false
      }
    }
  }
}

output SERVICE_API_NAME string = api.name
output SERVICE_API_URI string = 'https://${api.properties.defaultHostName}'
