// Types shared by main.bicep and the modules.

@export()
@description('Someone who gets data-plane roles: the app\'s managed identity, or the person who ran azd.')
type principal = {
  @description('Object (principal) id in Microsoft Entra ID.')
  id: string

  @description('Kind of principal; lets Azure skip the directory look-up when assigning roles.')
  type: 'ServicePrincipal' | 'User' | 'Group'
}

@export()
@description('One Azure OpenAI model deployment. The router calls deployments by name, so name each after its model.')
type openAiDeployment = {
  @description('Deployment name; the default catalog expects the model name (for example gpt-4.1-mini).')
  name: string

  @description('Model name, for example gpt-4.1-mini.')
  model: string

  @description('Model version, for example 2025-04-14.')
  version: string

  @description('Deployment type (SKU), for example GlobalStandard.')
  sku: string

  @description('Capacity in units of 1,000 tokens per minute; defaults to the openAiCapacity parameter.')
  capacity: int?
}
