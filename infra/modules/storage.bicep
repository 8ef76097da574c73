// Storage for the Functions host and the router: the deployment package container, tables, the audit queue and its
// poison queue, and the audit-payloads container whose blobs a lifecycle rule deletes after a week. Shared keys are
// disabled; every principal gets data roles.
import { principal } from 'types.bicep'

param name string
param location string
param tags object
param deploymentContainerName string

@description('Queue the router sends audit jobs to; the Functions host moves failed messages to <name>-poison.')
param auditQueueName string

@description('Container for audit payloads too large for a queue message.')
param auditPayloadsContainerName string

@description('Days after which audit payloads are deleted.')
@minValue(1)
param auditPayloadsRetentionDays int

@description('Principals that get the blob, queue and table data roles.')
param principals principal[]

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
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

    resource auditPayloads 'containers' = {
      name: auditPayloadsContainerName
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

  // The router creates its tables on first use (Table Data Contributor allows it).
  resource tables 'tableServices' = {
    name: 'default'
  }

  // Lifecycle management runs about once a day, so a payload lives between the retention period and a day or two more.
  resource lifecycle 'managementPolicies' = {
    name: 'default'
    properties: {
      policy: {
        rules: [
          {
            name: 'delete-audit-payloads'
            enabled: true
            type: 'Lifecycle'
            definition: {
              filters: {
                blobTypes: [
                  'blockBlob'
                ]
                prefixMatch: [
                  '${auditPayloadsContainerName}/'
                ]
              }
              actions: {
                baseBlob: {
                  delete: {
                    daysAfterModificationGreaterThan: auditPayloadsRetentionDays
                  }
                }
              }
            }
          }
        ]
      }
    }
  }
}

var roles = [
  // Storage Blob Data Owner: deployment package, host leases and audit payloads.
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // Storage Queue Data Contributor: audit jobs.
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // Storage Table Data Contributor: keys, usage, audits, weights.
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
]

var assignments = flatten(map(
  principals,
  p =>
    map(roles, role => {
      principal: p
      role: role
    })
))

resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in assignments: {
    name: guid(storage.id, a.principal.id, a.role)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
      principalId: a.principal.id
      principalType: a.principal.type
    }
  }
]

func withoutTrailingSlash(uri string) string => endsWith(uri, '/') ? take(uri, length(uri) - 1) : uri

output name string = storage.name
output blobServiceUri string = withoutTrailingSlash(storage.properties.primaryEndpoints.blob)
output queueServiceUri string = withoutTrailingSlash(storage.properties.primaryEndpoints.queue)
output tableServiceUri string = withoutTrailingSlash(storage.properties.primaryEndpoints.table)
