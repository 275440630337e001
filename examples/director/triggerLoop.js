'use strict'
// Event-driven workflows, as Director's backend would run them: a workflow that begins with a
// `pipedream_trigger` node is enabled by deploying that trigger for the user, with a webhook URL
// of Director's; each event Pipedream delivers there is verified and starts the workflow once.
//
//   enable(workflow)   deploys the trigger with triggerWebhookUrl(baseUrl, { id: workflow.id,
//                      secret }); keeps the webhook's signing key (a secret, with the workflow)
//   handler()          a node:http request handler for that URL: reads the raw body, verifies it
//                      (path token, signature, age, replay) and starts the workflow with the
//                      event as its input: the trigger node's alias names the payload
//                      ({{new_email.subject}}) and the run gets one record of type `event`
//   pause / resume     updateDeployedTrigger({ active })
//   disable            deleteDeployedTrigger (already gone is fine)
//
// Once per event: a replayed or retried delivery of an event already verified answers 200 and
// starts nothing (verifyTriggerWebhook remembers event ids for the hour, in this process; with
// several processes, key the run on `event.id` in Director's own store). A delivery that fails
// verification answers 401. Runs and keys live in memory here; Director would keep them with
// its workflow state.
const { NodeExecutor } = require('./nodeExecutor')

const MAX_BODY = 5 * 1024 * 1024

class TriggerLoop {
  /**
   * @param {{ client: import('../..').PipedreamClient, baseUrl: string, pathSecret: string }} options
   *   `baseUrl`: where Pipedream can reach `handler()`; `pathSecret`: at least 16 random characters.
   */
  constructor({ client, baseUrl, pathSecret }) {
    this.client = client
    this.baseUrl = baseUrl
    this.pathSecret = pathSecret
    this.executor = new NodeExecutor({ client })
    this.workflows = new Map() // workflow id → { nodes, trigger, signingKey, externalUserId }
    this.runs = []
  }

  /** Deploys the workflow's trigger for its user. Resolves with the deployed trigger. */
  async enable({ id, nodes, externalUserId }) {
    const triggerNode = nodes.find((n) => n.type === 'pipedream_trigger')
    if (!triggerNode) throw new Error(`workflow ${id} has no pipedream_trigger node`)
    const { component_id, version, params, auth_config = {}, emit_on_deploy } = triggerNode.config
    const deployed = await this.client.deployTrigger(
      {
        component_id,
        version,
        params,
        external_user_id: auth_config.external_user_id || externalUserId,
        account_id: auth_config.account_id,
        emit_on_deploy,
        webhook_url: this.client.triggerWebhookUrl(this.baseUrl, { id, secret: this.pathSecret }),
      },
      // A retried enable (a timeout after the deploy was sent) answers the first deploy.
      { idempotencyKey: `enable:${id}` },
    )
    this.workflows.set(id, { nodes, triggerNode, trigger: deployed, signingKey: deployed.webhook_signing_key, externalUserId })
    return deployed
  }

  async pause(id) {
    return this.client.updateDeployedTrigger({ id: this.workflow(id).trigger.id, external_user_id: this.workflow(id).externalUserId, active: false })
  }

  async resume(id) {
    return this.client.updateDeployedTrigger({ id: this.workflow(id).trigger.id, external_user_id: this.workflow(id).externalUserId, active: true })
  }

  async disable(id) {
    const wf = this.workflow(id)
    await this.client.deleteDeployedTrigger({ id: wf.trigger.id, external_user_id: wf.externalUserId })
    this.workflows.delete(id)
  }

  workflow(id) {
    const wf = this.workflows.get(id)
    if (!wf) throw new Error(`workflow ${id} is not enabled`)
    return wf
  }

  /** A `(req, res)` handler for node:http. */
  handler() {
    return (req, res) => {
      const chunks = []
      let size = 0
      req.on('data', (c) => {
        size += c.length
        if (size <= MAX_BODY) chunks.push(c)
      })
      req.on('end', async () => {
        const { status, run } = await this.handleDelivery(Buffer.concat(chunks), req.headers, req.url)
        res.writeHead(status).end()
        if (this.onRun && run) this.onRun(run)
      })
    }
  }

  /**
   * One delivery: `{ status }` to answer, and the run it started. 401: the delivery is not
   * Pipedream's (or is stale); 200 without a run: a replay; 500: the run failed (Pipedream
   * retries, and the retry is a replay: the failure is kept on the run for Director to show).
   */
  async handleDelivery(rawBody, headers, path) {
    const routeId = (path || '').split('?')[0].split('/').slice(-2)[0]
    const wf = this.workflows.get(routeId)
    if (!wf) return { status: 404 }
    let event
    try {
      event = this.client.verifyTriggerWebhook({ rawBody, headers, signingKey: wf.signingKey, path, pathSecret: this.pathSecret })
    } catch (error) {
      if (error.code === 'PIPEDREAM_WEBHOOK_REPLAY') return { status: 200 }
      return { status: error.code && error.code.startsWith('PIPEDREAM_WEBHOOK_') ? 401 : 400 }
    }
    const alias = wf.triggerNode.alias
    const steps = wf.nodes.filter((n) => n !== wf.triggerNode)
    const state = this.executor.prepare(steps, { workflowId: event.route_id, externalUserId: wf.externalUserId, variables: { [alias]: event.payload } })
    state.records.push({ id: 'event_001', type: 'event', fields: event.payload })
    const run = { event_id: event.id, workflowId: event.route_id, status: 'running' }
    this.runs.push(run)
    try {
      await this.executor.runFrom(state, 0)
      run.status = 'completed'
      run.result = this.executor.outcome(state)
      return { status: 200, run }
    } catch (error) {
      run.status = 'failed'
      run.error = error
      return { status: 500, run }
    }
  }
}

module.exports = { TriggerLoop }
