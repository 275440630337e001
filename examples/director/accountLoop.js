'use strict'
// The loop that lets a user connect an account in the middle of a workflow, as Director's
// backend would run it:
//
//   1. a pipedream_connect node rejects with PIPEDREAM_ACCOUNT_MISSING (the user has no account
//      for that app); the run pauses at that node, and the user is shown a Connect Link made
//      with a Connect token whose webhook_uri is Director's webhook route;
//   2. the user connects the account; Pipedream POSTs CONNECTION_SUCCESS to that route;
//   3. handleConnectionWebhook reads it with parseConnectionWebhook (which also drops the
//      client's cached account lookups for that user and app), finds the runs waiting for that
//      token, and resumes each from the node that paused it: the nodes before it do not run
//      again, and that node runs once.
//
// A CONNECTION_ERROR leaves the run paused with the reason, so the UI can offer the link again.
// Runs live in memory here; Director would keep them with its workflow state.
const { NodeExecutor } = require('./nodeExecutor')

class AccountLoop {
  /**
   * @param {{ client: import('../..').PipedreamClient, webhookUri: string }} options `webhookUri`:
   *   the URL of the route that calls `handleConnectionWebhook` with the raw request body.
   */
  constructor({ client, webhookUri }) {
    this.client = client
    this.webhookUri = webhookUri
    this.executor = new NodeExecutor({ client })
    this.runs = new Map() // run id → run
    this.nextId = 1
  }

  /**
   * Starts a workflow. Resolves with the run: `status` 'completed' (with `result`), or
   * 'paused' with `waiting: { app, connect_link_url, token }` to show the user.
   */
  async start(nodes, { workflowId, externalUserId, variables } = {}) {
    const run = {
      id: `run_${this.nextId++}`,
      status: 'running',
      externalUserId,
      state: this.executor.prepare(nodes, { workflowId, externalUserId, variables }),
    }
    this.runs.set(run.id, run)
    return this.advance(run)
  }

  /** Runs from where the run stopped until it completes or pauses again. */
  async advance(run) {
    run.status = 'running'
    try {
      await this.executor.runFrom(run.state, run.state.next || 0)
    } catch (error) {
      if (error && error.code === 'PIPEDREAM_ACCOUNT_MISSING') return this.pause(run, error)
      run.status = 'failed'
      run.error = error
      return run
    }
    run.status = 'completed'
    run.waiting = undefined
    run.result = this.executor.outcome(run.state)
    return run
  }

  /** A Connect token for the missing app whose webhook comes back to us; its link is shown. */
  async pause(run, error) {
    const token = await this.client.createConnectToken({
      external_user_id: run.externalUserId,
      app: error.app,
      webhook_uri: this.webhookUri,
    })
    run.status = 'paused'
    run.waiting = { app: error.app, connect_link_url: token.connect_link_url, token: token.token }
    return run
  }

  /**
   * The webhook route's body: reads the event and resumes the runs waiting for its token.
   * Resolves with the runs it touched. A body that is not a Connect event throws the package's
   * coded error (answer 400).
   */
  async handleConnectionWebhook(rawBody, headers) {
    const event = this.client.parseConnectionWebhook(rawBody, headers)
    const waiting = [...this.runs.values()].filter(
      (run) => run.status === 'paused' && run.waiting && run.waiting.token === event.connect_token,
    )
    if (event.event !== 'CONNECTION_SUCCESS') {
      for (const run of waiting) run.waiting.failure = event.reason
      return waiting
    }
    return Promise.all(waiting.map((run) => this.advance(run)))
  }
}

module.exports = { AccountLoop }
