// Storage for the Functions host and the router: the deployment package container, the audit queue and its poison
// queue, and the tables. Shared keys are disabled; the app's identity gets data roles.
param name string
param location string
param tags object
param deploymentContainerName string
param principalId string

@description('Queue the router sends audit jobs to (and its poison queue).')
param auditQueueName string = 'quality-audits'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource blobs 'blobServices' = {
    name: 'default'
    resource deployment 'containers' = {
      name: deploymentContainerName
    }
  }

  resource queues 'queueServices' = {
    name: 'default'
    resource audits 'queues' = {
      name: auditQueueName
    }
    resource auditsPoison 'queues' = {
      name: '${auditQueueName}-poison'
    }
  }

  resource tables 'tableServices' = {
    name: 'default'
  }
}

var roles = [
  // Storage Blob Data Owner: deployment package and host leases.
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // Storage Queue Data Contributor: audit jobs.
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // Storage Table Data Contributor: keys, usage, audits, weights.
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
]

resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in roles: {
  name: guid(storage.id, principalId, role)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
