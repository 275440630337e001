'use strict'
// File Stash: an action that writes files (dreamstudio-generate-image has a `dir` prop with
// `sync`) run with `stash`. What the run sent is read from the emulator's journal and request
// log; the presigned URLs are fetched as a browser would (no credentials), and the download
// endpoint through downloadStashedFile.
const net = require('node:net')
const { PipedreamClient } = require('..')
const { startEmulator, rejectionOf } = require('./helpers/emulator')

const USER = 'stash-user'
const RUN = '/actions/run$'
let emu
beforeAll(async () => {
  emu = await startEmulator(['--account', `${USER}:dreamstudio`, '--account', `${USER}:google_drive`])
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = () =>
  new PipedreamClient({
    ...emu.clientOptions,
    externalUserId: USER,
    retry: { maxRetries: 0 },
  })
const IMAGE = {
  component_id: 'dreamstudio-generate-image',
  params: {
    organizationId: 'org-Pd7sN0wQx4yB1cL2',
    engineId: 'stable-diffusion-xl-1024-v1-0',
    textPrompts: ['{"text": "A lighthouse on a cliff", "weight": 0.5}'],
  },
}
const sentStash = async () => (await emu.runs()).map((r) => r.stash_id)

test('stash: true asks for a new stash and answers the files with working URLs', async () => {
  const c = client()
  const out = await c.executePipedreamConnect({ ...IMAGE, stash: true })
  expect(await sentStash()).toEqual(['NEW'])
  expect(out.stash_id).toMatch(/^[0-9a-f]{32}$/)
  expect(out.files).toHaveLength(1)
  const [file] = out.files
  expect(file.path).toMatch(/^\/tmp\/.+\.png$/)
  expect(file.s3_key).toContain(`/${out.stash_id}/`)
  expect(file.url_expires_at_ms).toBeGreaterThan(Date.now() + 25 * 60 * 1000)
  expect(file.url_expires_at_ms).toBeLessThanOrEqual(Date.now() + 30 * 60 * 1000)
  // Presigned: fetched without any credential, as a browser or another service would.
  const viaUrl = await fetch(file.url)
  expect(viaUrl.status).toBe(200)
  const bytes = Buffer.from(await viaUrl.arrayBuffer())
  expect(bytes.length).toBeGreaterThan(0)
  // After the URL expires: by its key, through the API.
  const downloaded = await c.downloadStashedFile(file.s3_key)
  expect(Buffer.isBuffer(downloaded.data)).toBe(true)
  expect(downloaded.data.equals(bytes)).toBe(true)
  expect(downloaded).toEqual(expect.objectContaining({ s3_key: file.s3_key, size: bytes.length }))
  const download = await emu.requests('/file_stash/download$')
  expect(download).toHaveLength(1)
  expect(new URLSearchParams(download[0].query).get('s3_key')).toBe(file.s3_key)
})

test("the docs' example runs as written: google_drive-download-file's file comes back by its s3_key", async () => {
  const res = await client().executePipedreamConnect({
    component_id: 'google_drive-download-file',
    params: { fileId: '1AbC', filePath: '/tmp/report.pdf' },
    stash: true,
  })
  expect(res.summary).toBe('Successfully downloaded the file, "report.pdf"')
  expect(res.files.map((f) => f.path)).toEqual(['/tmp/report.pdf'])
  const file = await client().downloadStashedFile(res.files[0].s3_key)
  expect(file.data.subarray(0, 5).toString()).toBe('%PDF-')
  expect(file.size).toBe(file.data.length)
})

test('a stash_id from an earlier run is reused', async () => {
  const c = client()
  const first = await c.executePipedreamConnect({ ...IMAGE, stash: true })
  const second = await c.executePipedreamConnect({ ...IMAGE, stash: first.stash_id })
  // The docs: an empty string asks for a new stash too.
  const third = await c.executePipedreamConnect({ ...IMAGE, stash: '' })
  expect(await sentStash()).toEqual(['NEW', first.stash_id, 'NEW'])
  expect(second.stash_id).toBe(first.stash_id)
  expect(third.stash_id).not.toBe(first.stash_id)
})

test('without stash nothing is asked and no files field is answered', async () => {
  const out = await client().executePipedreamConnect(IMAGE)
  expect(await sentStash()).toEqual([null])
  expect(out).not.toHaveProperty('files')
  expect(out).not.toHaveProperty('stash_id')
})

test('an unknown stash is the API error; a malformed one is refused before sending', async () => {
  const c = client()
  const unknown = await rejectionOf(c.executePipedreamConnect({ ...IMAGE, stash: 'ffffffffffffffffffffffffffffffff' }))
  expect(unknown.code).toBe('PIPEDREAM_NOT_FOUND')
  expect(await sentStash()).toEqual(['ffffffffffffffffffffffffffffffff'])
  for (const stash of ['../x', 5, {}]) {
    const e = await rejectionOf(c.executePipedreamConnect({ ...IMAGE, stash }))
    expect(e.code).toBe('PIPEDREAM_INVALID_ARGS')
  }
  expect(await emu.requests(RUN)).toHaveLength(1)
})

test('downloadStashedFile: an unknown key is PIPEDREAM_NOT_FOUND; a bad one is refused', async () => {
  const c = client()
  const missing = await rejectionOf(c.downloadStashedFile('1day/proj_x/exu_x/nope/u/x.png'))
  expect(missing.code).toBe('PIPEDREAM_NOT_FOUND')
  for (const key of ['', 42, 'a\nb']) {
    expect((await rejectionOf(c.downloadStashedFile(key))).code).toBe('PIPEDREAM_INVALID_ARGS')
  }
  expect(await emu.requests('/file_stash/download$')).toHaveLength(1)
})

describe('a download answered with a redirect (the OpenAPI: 302 to a presigned URL)', () => {
  test('the presigned URL is answered, not fetched, and works without credentials', async () => {
    const c = client()
    const [file] = (await c.executePipedreamConnect({ ...IMAGE, stash: true })).files
    const bytes = Buffer.from(await (await fetch(file.url)).arrayBuffer())
    await emu.control('POST', 'file-stash/downloads', { redirect: true })
    const linked = await c.downloadStashedFile(file.s3_key)
    expect(linked).toEqual({
      s3_key: file.s3_key,
      content_type: null,
      size: null,
      data: null,
      url: expect.stringMatching(/\/__emulator\/s3\/.*X-Amz-Signature=/),
      url_expires_at_ms: expect.any(Number),
    })
    // A URL signed for this download, not the run's.
    expect(linked.url).not.toBe(file.url)
    expect(linked.url_expires_at_ms).toBeGreaterThan(Date.now() + 25 * 60 * 1000)
    expect(linked.url_expires_at_ms).toBeLessThanOrEqual(Date.now() + 30 * 60 * 1000)
    const viaLink = await fetch(linked.url)
    expect(viaLink.status).toBe(200)
    expect(Buffer.from(await viaLink.arrayBuffer()).equals(bytes)).toBe(true)
    expect(await emu.requests('/file_stash/download$')).toHaveLength(1)
  })

  test('nothing is sent past the base URL: an https link elsewhere is handed on, anything else is an error', async () => {
    // Would see any connection the client made to the redirect targets.
    let connections = 0
    const elsewhere = net.createServer((s) => {
      connections += 1
      s.destroy()
    })
    await new Promise((r) => elsewhere.listen(0, '127.0.0.1', r))
    const { port } = elsewhere.address()
    try {
      const c = client()
      const key = '1day/proj_x/exu_x/0123456789abcdef0123456789abcdef/u/x.png'
      const https = `https://127.0.0.1:${port}/bucket/x.png?X-Amz-Signature=abc`
      await emu.fault({ path: '/file_stash/download$', redirect: https, count: 1 })
      expect((await c.downloadStashedFile(key)).url).toBe(https)
      for (const redirect of [`http://127.0.0.1:${port}/x.png`, `ftp://127.0.0.1:${port}/x.png`]) {
        await emu.fault({ path: '/file_stash/download$', redirect, count: 1 })
        const e = await rejectionOf(c.downloadStashedFile(key))
        expect(e.code).toBe('PIPEDREAM_UNEXPECTED_REDIRECT')
      }
      expect(await emu.requests('/file_stash/download$')).toHaveLength(3)
      // A link that carries this client's own access token is not handed on to be fetched.
      const token = (await (await fetch(`${emu.url}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: emu.clientOptions.clientId, client_secret: emu.clientOptions.clientSecret }),
      })).json()).access_token
      const holding = new PipedreamClient({ ...emu.clientOptions, clientId: undefined, clientSecret: undefined, token })
      for (const carried of [token, encodeURIComponent(`Bearer ${token}`)]) {
        await emu.fault({ path: '/file_stash/download$', redirect: `https://127.0.0.1:${port}/get?auth=${carried}`, count: 1 })
        const e = await rejectionOf(holding.downloadStashedFile(key))
        expect(e.code).toBe('PIPEDREAM_BAD_RESPONSE')
        expect(JSON.stringify({ ...e, message: e.message })).not.toContain(token)
      }
      expect(connections).toBe(0)
    } finally {
      await new Promise((r) => elsewhere.close(r))
    }
  })
})
