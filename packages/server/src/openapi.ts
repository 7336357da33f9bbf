/** OpenAPI 3.1 description of the REST API, served at /v1/openapi.json. Hand-written: the API is small. */
const error = { $ref: "#/components/responses/Error" };
const id = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$" } };
const branch = { name: "branch", in: "query", required: false, schema: { type: "string", default: "main" } };
const errors = { "400": error, "401": error, "403": error, "404": error };

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "ctxsync sync server",
    version: "0.1.0",
    description:
      "REST for what is not sync. Sync itself is the y-websocket protocol at ws(s)://HOST/sync/<C | C/cache | C/hidden>?token=… . " +
      "Tokens are HS256 JWTs with claims conv (conversation id or \"*\"), scopes (read, append, hidden, admin), exp, iat; " +
      "send them as `Authorization: Bearer <token>` or `?token=`. A server started without a secret is open (every scope).",
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    schemas: {
      Error: {
        type: "object",
        required: ["error"],
        properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" } } } },
      },
      Entry: {
        type: "object",
        required: ["id", "parent", "kind", "content", "meta"],
        properties: {
          id: { type: "string" },
          parent: { type: ["string", "null"] },
          kind: { enum: ["user", "assistant", "tool_result", "config", "summary"] },
          content: { type: "object" },
          meta: { type: "object" },
        },
      },
      Branch: {
        type: "object",
        required: ["head", "base", "createdBy", "createdAt"],
        properties: { head: { type: "string" }, base: { type: ["string", "null"] }, createdBy: { type: "string" }, createdAt: { type: "number" } },
      },
    },
    responses: { Error: { description: "An error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } } },
  },
  security: [{ bearer: [] }],
  paths: {
    "/healthz": { get: { summary: "Liveness and storage reachability", security: [], responses: { "200": { description: "ok" }, "503": error } } },
    "/metrics": { get: { summary: "Prometheus metrics (text format 0.0.4)", security: [], responses: { "200": { description: "metrics" } } } },
    "/v1/openapi.json": { get: { summary: "This document", security: [], responses: { "200": { description: "OpenAPI document" } } } },
    "/v1/conversations": {
      get: { summary: "List conversations (token for conv \"*\" with read)", responses: { "200": { description: "{ conversations: [{ id, createdAt, updatedAt }] }" }, ...errors } },
      post: {
        summary: "Create a conversation (append on that id; a token for \"*\" when no id is given)",
        requestBody: { content: { "application/json": { schema: { type: "object", properties: { id: { type: "string" }, title: { type: "string" } } } } } },
        responses: { "201": { description: "{ id, documents }" }, "409": error, ...errors },
      },
    },
    "/v1/conversations/{id}": {
      parameters: [id],
      get: { summary: "Conversation summary: entry count, branches, info (read)", responses: { "200": { description: "summary" }, ...errors } },
      delete: { summary: "Delete the conversation's three documents (admin); open connections are closed with 4404", responses: { "204": { description: "deleted" }, ...errors } },
    },
    "/v1/conversations/{id}/branches": {
      parameters: [id],
      get: { summary: "Branch map (read)", responses: { "200": { description: "{ branches: { name: Branch } }" }, ...errors } },
    },
    "/v1/conversations/{id}/transcript": {
      parameters: [id, branch],
      get: {
        summary: "A branch's transcript as JSON (read)",
        responses: {
          "200": {
            description: "{ conversation, branch, head, hash, entries }",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: { branch: { type: "string" }, head: { type: "string" }, hash: { type: "string" }, entries: { type: "array", items: { $ref: "#/components/schemas/Entry" } } },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    "/v1/conversations/{id}/hidden": {
      parameters: [id],
      get: {
        summary: "Metadata of the provider blobs in C/hidden (read): id, entry, provider, kind, size — never their bytes",
        responses: { "200": { description: "{ conversation, blobs: [{ id, entry, provider, kind, bytes }] }" }, ...errors },
      },
    },
    "/v1/conversations/{id}/cache/lease": {
      parameters: [id],
      post: {
        summary:
          "The rebuild lease of a checkpoint key (append): compare-and-set on the lease version kept in C/cache `leases`. acquire {key, holder, seenVersion, ttlMs}; complete|release {key, holder, version}",
        requestBody: { content: { "application/json": { schema: { type: "object", required: ["op", "key", "holder"] } } } },
        responses: { "200": { description: "{ granted, reason?: held|stale-version|fenced, lease, remainingMs? }" }, ...errors },
      },
    },
    "/v1/conversations/{id}/fork": {
      parameters: [id],
      post: {
        summary: "Create a branch whose head is entry `at` (admin). Default name fork/<at>.",
        requestBody: { content: { "application/json": { schema: { type: "object", required: ["at"], properties: { at: { type: "string" }, name: { type: "string" } } } } } },
        responses: { "201": { description: "{ conversation, branch, head }" }, "409": error, ...errors },
      },
    },
    "/v1/conversations/{id}/import": {
      parameters: [id, branch],
      post: {
        summary: "Append a JSONL transcript (one OpenAI-style message per line) to a branch (admin); creates the conversation if needed",
        requestBody: { content: { "application/x-ndjson": { schema: { type: "string" } } } },
        responses: { "200": { description: "{ conversation, branch, imported, head }" }, "413": error, ...errors },
      },
    },
    "/v1/conversations/{id}/export": {
      parameters: [id, branch],
      get: { summary: "A branch as JSONL (read)", responses: { "200": { description: "JSONL", content: { "application/x-ndjson": {} } }, ...errors } },
    },
  },
} as const;
