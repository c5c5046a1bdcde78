// Queues and tables the Azure host expects to exist. Plain resources rather than the storage-account
// module's queueServices/tableServices parameters, whose item shape has changed between AVM versions.

@description('The storage account created by the storage-account module.')
param storageAccountName string

@description('Queues to create, e.g. agent-runs and its poison queue.')
param queueNames string[]

@description('Tables to create, e.g. the {hub}ledger table.')
param tableNames string[]

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]
