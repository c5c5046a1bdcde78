// azd entry point for the Azure host (Functions/). Modelled on Azure-Samples/functions-quickstart-dotnet-azd,
// with the differences this product needs: queue and table endpoints on (Durable Functions, the agent-runs
// queue, the decision/approval/idempotency ledger), a Key Vault for tool secrets, and App Insights without
// local auth so that every connection is identity-based.
//
// No virtual network: the quickstart's optional VNet (app/vnet.bicep + private endpoints) is left out for
// now. Storage and Key Vault therefore keep public network access, guarded by Entra ID and RBAC only
// (shared keys are off). Add the VNet before running with production data.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds the resource token that makes names unique.')
param environmentName string

// Regions that offer Flex Consumption, as listed by Azure-Samples/durable-functions-quickstart-dotnet-azd.
@minLength(1)
@description('Primary location for all resources & Flex Consumption Function App')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'eastus2euap'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

// Name overrides, for organisations with naming policies; empty means abbreviation + resource token.
param apiServiceName string = ''
param apiUserAssignedIdentityName string = ''
param applicationInsightsName string = ''
param appServicePlanName string = ''
param logAnalyticsName string = ''
param resourceGroupName string = ''
param storageAccountName string = ''
param keyVaultName string = ''

// Same rule as AgenticStorageOptions.HubName (^[a-z][a-z0-9]{2,30}$); the host refuses to start otherwise.
@minLength(3)
@maxLength(31)
@description('Prefix of every Agentic table, queue and blob container (Agentic:HubName).')
param hubName string = 'agentic'

@description('Off for dev environments so that azd down --purge can free the vault name. Turn it on for production: once on, it can never be turned off.')
param keyVaultPurgeProtection bool = false

@description('Object id of whoever runs azd (azd sets AZURE_PRINCIPAL_ID). It gets data access to storage and may write Key Vault secrets, since with RBAC authorization nobody else can. Leave empty to grant nothing.')
param principalId string = ''

@description('User for a person at a terminal, ServicePrincipal when azd runs in CI.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = !empty(apiServiceName) ? apiServiceName : '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentStorageContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'

// Names the code uses: RunTriggers.RunQueue, TableGovernanceStore ("{hub}ledger") and PayloadStore
// ("{hub}-payloads"). Only the local runner creates them at start; the Functions host does not, and a missing
// ledger table would fail every gate closed. Keep these in step with the code.
var runQueueName = 'agent-runs'
var agenticQueueNames = [
  runQueueName
  '${runQueueName}-poison'
]
var agenticTableNames = [
  '${hubName}ledger'
  '${hubName}controls'
  '${hubName}policies'
]
var payloadContainerName = '${hubName}-payloads'

// The quickstart leaves queues and tables off; here all three are needed.
var storageEndpointConfig = {
  enableBlob: true // AzureWebJobsStorage, the Flex deployment package, Durable Functions leases and large messages, payload blobs
  enableQueue: true // Durable Functions control and work-item queues, and the agent-runs trigger
  enableTable: true // Durable Functions history and instances, and the decision/approval/idempotency ledger
  allowUserIdentityPrincipal: !empty(principalId) // lets the deployer inspect runs and the ledger with their own identity
}

// Organize resources in a resource group
resource rg 'Microsoft.Resources/resourceGroups@2021-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// User-assigned rather than system-assigned: its client id is known before the app exists, and the app
// settings (AzureWebJobsStorage__clientId, AgenticStorage__clientId) must name it.
module apiUserAssignedIdentity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'apiUserAssignedIdentity'
  scope: rg
  params: {
    location: location
    tags: tags
    name: !empty(apiUserAssignedIdentityName) ? apiUserAssignedIdentityName : '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
  }
}

// Flex Consumption: scale to zero between runs, and per-instance scale-out for fan-out of activities.
module appServicePlan 'br/public:avm/res/web/serverfarm:0.1.1' = {
  name: 'appserviceplan'
  scope: rg
  params: {
    name: !empty(appServicePlanName) ? appServicePlanName : '${abbrs.webServerFarms}${resourceToken}'
    sku: {
      name: 'FC1'
      tier: 'FlexConsumption'
    }
    reserved: true
    location: location
    tags: tags
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.name
    appServicePlanId: appServicePlan.outputs.resourceId
    runtimeName: 'dotnet-isolated'
    // The projects target net10.0 (Directory.Build.props). The quickstart pins '8.0'; Flex Consumption takes
    // '10.0' for dotnet-isolated (Azure-Samples/remote-mcp-functions-dotnet deploys it). If a region refuses it,
    // `az functionapp list-flexconsumption-runtimes --location <region> --runtime dotnet-isolated` lists what it takes.
    runtimeVersion: '10.0'
    storageAccountName: storage.outputs.name
    enableBlob: storageEndpointConfig.enableBlob
    enableQueue: storageEndpointConfig.enableQueue
    enableTable: storageEndpointConfig.enableTable
    deploymentStorageContainerName: deploymentStorageContainerName
    identityId: apiUserAssignedIdentity.outputs.resourceId
    identityClientId: apiUserAssignedIdentity.outputs.clientId
    appSettings: {
      Agentic__HubName: hubName
      Agentic__KeyVaultUri: keyVault.outputs.uri
    }
  }
}

// One account behind both connections (AzureWebJobsStorage and AgenticStorage), as on a dev box where both
// are Azurite: one set of role assignments, one place to look when a run is stuck.
module storage 'br/public:avm/res/storage/storage-account:0.8.3' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false // identity only: no account key can leak from an app setting or a laptop
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled' // no VNet yet, see the top of this file
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: [
        { name: deploymentStorageContainerName }
        { name: payloadContainerName }
      ]
    }
    minimumTlsVersion: 'TLS1_2'
    location: location
    tags: tags
    skuName: 'Standard_LRS'
  }
}

// Queues and tables the Functions host reads from before anything would create them.
module storageData './app/storage-data.bicep' = {
  name: 'storageData'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    queueNames: agenticQueueNames
    tableNames: agenticTableNames
  }
}

// Secrets for tools, injected at call time. RBAC authorization, so access is granted in rbac.bicep like
// every other data-plane permission, not through access policies.
module keyVault 'br/public:avm/res/key-vault/vault:0.13.3' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    sku: 'standard'
    enableRbacAuthorization: true
    enablePurgeProtection: keyVaultPurgeProtection
    // Nothing but the app reads these secrets; VMs, disk encryption and ARM templates have no business here.
    enableVaultForDeployment: false
    enableVaultForTemplateDeployment: false
    enableVaultForDiskEncryption: false
    publicNetworkAccess: 'Enabled' // no VNet yet, see the top of this file
  }
}

// Consolidated role assignments
module rbac './app/rbac.bicep' = {
  name: 'rbacAssignments'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.name
    keyVaultName: keyVault.outputs.name
    managedIdentityPrincipalId: apiUserAssignedIdentity.outputs.principalId
    userIdentityPrincipalId: principalId
    userIdentityPrincipalType: principalType
    enableBlob: storageEndpointConfig.enableBlob
    enableQueue: storageEndpointConfig.enableQueue
    enableTable: storageEndpointConfig.enableTable
    allowUserIdentityPrincipal: storageEndpointConfig.allowUserIdentityPrincipal
  }
}

// Log Analytics and Application Insights as two resource modules rather than the quickstart's
// avm/ptn/azd/monitoring:0.1.0, because that pattern cannot switch off local auth; versions as in
// Azure-Samples/durable-functions-quickstart-dotnet-azd.
module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: '${uniqueString(deployment().name, location)}-loganalytics'
  scope: rg
  params: {
    name: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    location: location
    tags: tags
    dataRetention: 30
  }
}

module monitoring 'br/public:avm/res/insights/component:0.6.0' = {
  name: '${uniqueString(deployment().name, location)}-appinsights'
  scope: rg
  params: {
    name: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    // Ingestion only with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING), so the connection
    // string below is not a credential.
    disableLocalAuth: true
  }
}

// azd writes these into .azure/<env>/.env, where `azd env get-values` and scripts pick them up. azd itself
// reads AZURE_RESOURCE_GROUP; it finds the app by its azd-service-name tag, not by an output.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.SERVICE_API_NAME
output SERVICE_API_URI string = api.outputs.SERVICE_API_URI
output AZURE_FUNCTION_APP_NAME string = api.outputs.SERVICE_API_NAME
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = apiUserAssignedIdentity.outputs.clientId
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AGENTIC_HUB_NAME string = hubName
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
