'use strict'
// A Director-shaped slice of `backend/services/directorService.js`: the LLM tool-call
// dispatcher. The integration plan's two hand-written handlers (`handlePipedreamSearchServices`,
// `handlePipedreamGetComponents`: ~100 lines of fetch, token and error handling) become one
// line each: the package answers the call, failures included, in a shape the LLM can read.
// Every other Director tool (dom_search, get_screenshot, …) is out of scope here and falls
// through to a stub.
const pd = require('../..')

/** The function tools to add to the LLM's `tools` list (the plan's two, plus get_component and configure_prop). */
const toolDefinitions = pd.toolDefinitions()
const PIPEDREAM_TOOL_NAMES = toolDefinitions.map((t) => t.function.name)

class DirectorService {
  /**
   * @param {{ client?: import('../..').PipedreamClient }} [options] a configured client; the
   *   package's default client (configured from `PIPEDREAM_*` variables) when absent.
   */
  constructor({ client } = {}) {
    this.pd = client || pd
  }

  /** The plan's `switch (name)` in Director's tool loop. Resolves with what goes back to the LLM. */
  async handleToolCall(name, args, workflowId) {
    switch (name) {
      case 'pipedream_search_services':
      case 'pipedream_get_components':
      case 'pipedream_get_component':
      case 'pipedream_configure_prop':
        return this.pd.handleToolCall(name, args || {})
      default:
        return this.handleOtherTool(name, args, workflowId)
    }
  }

  /** Stand-in for the rest of Director's tools, which this example does not implement. */
  async handleOtherTool(name) {
    return {
      error: 'NOT_A_PIPEDREAM_TOOL',
      message: `"${name}" is not a Pipedream tool; this example only dispatches ${PIPEDREAM_TOOL_NAMES.join(', ')}.`,
    }
  }
}

module.exports = { DirectorService, toolDefinitions, PIPEDREAM_TOOL_NAMES }
