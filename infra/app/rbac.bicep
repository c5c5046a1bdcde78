// Every data-plane permission of the deployment, in one place. Shared keys are off and the vault uses RBAC
// authorization, so nothing reaches storage, Key Vault or App Insights without an assignment here.
// Modelled on the quickstart family's app/rbac.bicep, plus Key Vault. The app's own assignments are unconditional:
// Durable Functions needs blobs, queues and tables, and tests/Agentic.Functions.Tests checks each one by role id.

param storageAccountName string
param appInsightsName string
param keyVaultName string
@description('Principal id of the Function App\'s user-assigned identity.')
param managedIdentityPrincipalId string
@description('Principal id of whoever runs azd; empty grants nothing.')
param userIdentityPrincipalId string = ''
@allowed([
  'User'
  'ServicePrincipal'
])
param userIdentityPrincipalType string = 'User'
param allowUserIdentityPrincipal bool = false

// Built-in role definition ids (the same in every tenant).
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
var keyVaultSecretsOfficerRoleId = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7' // Key Vault Secrets Officer

var grantUser = allowUserIdentityPrincipal && !empty(userIdentityPrincipalId)

resource storageAccount 'Microsoft.Storage/storageAccounts@2022-09-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// Blob Data Owner, not Contributor: the Functions host manages blob leases and the Flex deployment
// package through AzureWebJobsStorage with this identity.
resource storageRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, managedIdentityPrincipalId, storageBlobDataOwnerRoleId)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource storageRoleAssignment_User 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser) {
  name: guid(storageAccount.id, userIdentityPrincipalId, storageBlobDataOwnerRoleId)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: userIdentityPrincipalId
    principalType: userIdentityPrincipalType
  }
}

// Durable Functions' control and work-item queues, and the agent-runs trigger with its poison queue.
resource queueRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, managedIdentityPrincipalId, storageQueueDataContributorRoleId)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource queueRoleAssignment_User 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser) {
  name: guid(storageAccount.id, userIdentityPrincipalId, storageQueueDataContributorRoleId)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
    principalId: userIdentityPrincipalId
    principalType: userIdentityPrincipalType
  }
}

// Durable Functions' history and instance tables, and the decision/approval/idempotency ledger.
resource tableRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, managedIdentityPrincipalId, storageTableDataContributorRoleId)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource tableRoleAssignment_User 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser) {
  name: guid(storageAccount.id, userIdentityPrincipalId, storageTableDataContributorRoleId)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: userIdentityPrincipalId
    principalType: userIdentityPrincipalType
  }
}

// App Insights has local auth off: without this role the host's telemetry is rejected.
resource appInsightsRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, managedIdentityPrincipalId, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appInsightsRoleAssignment_User 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser) {
  name: guid(applicationInsights.id, userIdentityPrincipalId, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: userIdentityPrincipalId
    principalType: userIdentityPrincipalType
  }
}

// Read-only on secrets: the app injects them into tool calls but must never be able to change them.
resource keyVaultRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, managedIdentityPrincipalId, keyVaultSecretsUserRoleId)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// With RBAC authorization even a subscription Owner cannot write secrets, so the deployer gets Secrets
// Officer to put the tools' secrets in.
resource keyVaultRoleAssignment_User 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser) {
  name: guid(keyVault.id, userIdentityPrincipalId, keyVaultSecretsOfficerRoleId)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficerRoleId)
    principalId: userIdentityPrincipalId
    principalType: userIdentityPrincipalType
  }
}
