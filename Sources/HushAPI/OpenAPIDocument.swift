/// The OpenAPI 3.1 description of the whole HTTP API, served at `GET /openapi.json`. This is
/// the document itself, not a copy: edit it here. A test fails when a route exists that it
/// lacks, or the reverse, and schemathesis (`.ci/run`) checks the running server against it.
enum OpenAPIDocument {
    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "hush",
    "version": "\#(Hush.version)",
    "description": "May we contact this customer, on this channel, for this purpose, now? Every /v1/ answer carries Cache-Control: no-store."
  },
  "servers": [
    {
      "url": "http://127.0.0.1:8080"
    }
  ],
  "paths": {
    "/healthz": {
      "get": {
        "operationId": "health",
        "summary": "Liveness",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Status"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": []
      }
    },
    "/readyz": {
      "get": {
        "operationId": "ready",
        "summary": "Readiness: the database answers and the server is not draining",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Status"
                }
              }
            }
          },
          "503": {
            "description": "Not ready",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Status"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": []
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "openapi",
        "summary": "This document",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": []
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics",
        "summary": "Prometheus metrics: requests by route and status, request durations, decisions by outcome and reason, open connections, store errors, writer queue depth",
        "description": "No key, unless auth.protect_metrics puts it under the read scope.",
        "parameters": [],
        "security": [],
        "responses": {
          "200": {
            "description": "Prometheus text format 0.0.4",
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        }
      }
    },
    "/v1/decisions": {
      "post": {
        "operationId": "decide",
        "summary": "One decision",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Decision"
                }
              }
            }
          },
          "503": {
            "description": "The store cannot answer: suppress with reason unavailable",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Decision"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `decide`.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/DecisionRequest"
              }
            }
          }
        }
      },
      "get": {
        "operationId": "decideByQuery",
        "summary": "One decision, from query parameters",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "customer_id",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": ""
          },
          {
            "name": "address",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": ""
          },
          {
            "name": "channel",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9_]{1,32}$"
            },
            "description": ""
          },
          {
            "name": "purpose",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9_]{1,32}$"
            },
            "description": ""
          },
          {
            "name": "category",
            "in": "query",
            "required": false,
            "schema": {
              "type": "array",
              "items": {
                "type": "string",
                "minLength": 1,
                "maxLength": 128
              }
            },
            "description": "May repeat."
          },
          {
            "name": "region",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": ""
          },
          {
            "name": "timezone",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": ""
          },
          {
            "name": "at",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": ""
          },
          {
            "name": "campaign_id",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": ""
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Decision"
                }
              }
            }
          },
          "503": {
            "description": "The store cannot answer",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Decision"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `decide`."
      }
    },
    "/v1/decisions/batch": {
      "post": {
        "operationId": "decideBatch",
        "summary": "Up to 10,000 decisions; an invalid item gets an error in its place",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/BatchResult"
                }
              }
            }
          },
          "503": {
            "description": "The store failed for some items",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/BatchResult"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `decide`.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "requests": {
                    "type": "array",
                    "maxItems": 10000,
                    "items": {
                      "$ref": "#/components/schemas/BatchItemRequest"
                    }
                  }
                },
                "additionalProperties": false,
                "required": [
                  "requests"
                ]
              }
            }
          }
        }
      }
    },
    "/v1/customers/{id}/decisions": {
      "get": {
        "operationId": "decideEveryChannel",
        "summary": "One decision per configured channel",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Customer id"
          },
          {
            "name": "purpose",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9_]{1,32}$"
            },
            "description": ""
          },
          {
            "name": "at",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": ""
          },
          {
            "name": "category",
            "in": "query",
            "required": false,
            "schema": {
              "type": "array",
              "items": {
                "type": "string",
                "minLength": 1,
                "maxLength": 128
              }
            },
            "description": ""
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CustomerDecisions"
                }
              }
            }
          },
          "503": {
            "description": "The store cannot answer",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CustomerDecisions"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `decide`."
      }
    },
    "/v1/customers/{id}": {
      "put": {
        "operationId": "putCustomer",
        "summary": "Create or replace a profile",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Customer id"
          }
        ],
        "responses": {
          "200": {
            "description": "Replaced",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Profile"
                }
              }
            }
          },
          "201": {
            "description": "Created",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Profile"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ProfileBody"
              }
            }
          }
        }
      },
      "get": {
        "operationId": "getCustomer",
        "summary": "The single customer view",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Customer id"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CustomerView"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `read`."
      },
      "delete": {
        "operationId": "eraseCustomer",
        "summary": "GDPR erasure: delete every row, keep HMAC tombstones",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Customer id"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Erasure"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `admin`."
      }
    },
    "/v1/cases/{case_id}": {
      "put": {
        "operationId": "putCase",
        "summary": "Create or replace a case (older updated_at: 409 with the stored case)",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "case_id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Case id"
          }
        ],
        "responses": {
          "200": {
            "description": "Replaced",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Case"
                }
              }
            }
          },
          "201": {
            "description": "Created",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Case"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/CaseBody"
              }
            }
          }
        }
      },
      "get": {
        "operationId": "getCase",
        "summary": "A case",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "case_id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Case id"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Case"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `read`."
      },
      "delete": {
        "operationId": "deleteCase",
        "summary": "Delete a case",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "case_id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Case id"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Deleted"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`."
      }
    },
    "/v1/suppressions": {
      "post": {
        "operationId": "addSuppression",
        "summary": "Add a suppression (the same one again: 200 with it)",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          }
        ],
        "responses": {
          "200": {
            "description": "Already there",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Suppression"
                }
              }
            }
          },
          "201": {
            "description": "Created",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Suppression"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/SuppressionBody"
              }
            }
          }
        }
      },
      "get": {
        "operationId": "listSuppressions",
        "summary": "Suppressions in id order, paged",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "customer_id",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": ""
          },
          {
            "name": "address",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": ""
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000
            },
            "description": ""
          },
          {
            "name": "cursor",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": ""
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Suppression"
                      }
                    },
                    "next_cursor": {
                      "type": [
                        "string",
                        "null"
                      ]
                    }
                  },
                  "additionalProperties": false,
                  "required": [
                    "items",
                    "next_cursor"
                  ]
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `read`."
      }
    },
    "/v1/suppressions/{id}": {
      "get": {
        "operationId": "getSuppression",
        "summary": "A suppression",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Suppression id"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Suppression"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `read`."
      },
      "patch": {
        "operationId": "patchSuppression",
        "summary": "Change a suppression's scope, source, confirmation or expiry",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Suppression id"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Suppression"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/SuppressionPatch"
              }
            }
          }
        }
      },
      "delete": {
        "operationId": "deleteSuppression",
        "summary": "Delete a suppression (opt back in)",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Suppression id"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Deleted"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`."
      }
    },
    "/v1/holds": {
      "post": {
        "operationId": "createHold",
        "summary": "Create an environmental hold (id in use: 409 with it)",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          }
        ],
        "responses": {
          "201": {
            "description": "Created",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Hold"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/HoldBody"
              }
            }
          }
        }
      },
      "get": {
        "operationId": "listHolds",
        "summary": "Holds, by id",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "active",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "true",
                "false"
              ]
            },
            "description": ""
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Hold"
                      }
                    },
                    "next_cursor": {
                      "type": "null"
                    }
                  },
                  "additionalProperties": false,
                  "required": [
                    "items",
                    "next_cursor"
                  ]
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `read`."
      }
    },
    "/v1/holds/{id}": {
      "get": {
        "operationId": "getHold",
        "summary": "A hold",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Hold id"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Hold"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `read`."
      },
      "patch": {
        "operationId": "patchHold",
        "summary": "Change a hold (for example, end it now)",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Hold id"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Hold"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/HoldPatch"
              }
            }
          }
        }
      },
      "delete": {
        "operationId": "deleteHold",
        "summary": "Delete a hold",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            },
            "description": "Hold id"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Deleted"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`."
      }
    },
    "/v1/contacts": {
      "post": {
        "operationId": "recordContact",
        "summary": "Record a contact for frequency caps",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          }
        ],
        "responses": {
          "201": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Contact"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ContactBody"
              }
            }
          }
        }
      }
    },
    "/v1/interactions": {
      "post": {
        "operationId": "recordInteraction",
        "summary": "Record an interaction for willingness",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          }
        ],
        "responses": {
          "201": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Interaction"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/InteractionBody"
              }
            }
          }
        }
      }
    },
    "/v1/import/suppressions": {
      "post": {
        "operationId": "importSuppressions",
        "summary": "Bulk import, streamed, all or nothing",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "dry_run",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "true",
                "false"
              ]
            },
            "description": ""
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ImportResult"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`.",
        "requestBody": {
          "required": true,
          "content": {
            "text/csv": {
              "schema": {
                "type": "string"
              }
            },
            "application/x-ndjson": {
              "schema": {
                "type": "string"
              }
            }
          }
        }
      }
    },
    "/v1/import/cases": {
      "post": {
        "operationId": "importCases",
        "summary": "Bulk import, streamed, all or nothing",
        "parameters": [
          {
            "$ref": "#/components/parameters/pretty"
          },
          {
            "name": "dry_run",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "true",
                "false"
              ]
            },
            "description": ""
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ImportResult"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "security": [
          {
            "bearer": []
          }
        ],
        "description": "Scope: `write`.",
        "requestBody": {
          "required": true,
          "content": {
            "text/csv": {
              "schema": {
                "type": "string"
              }
            },
            "application/x-ndjson": {
              "schema": {
                "type": "string"
              }
            }
          }
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Error": {
        "type": "object",
        "properties": {
          "error": {
            "type": "object",
            "properties": {
              "code": {
                "type": "string",
                "enum": [
                  "malformed_request",
                  "invalid_field",
                  "unauthorized",
                  "forbidden",
                  "not_found",
                  "method_not_allowed",
                  "request_timeout",
                  "conflict",
                  "payload_too_large",
                  "uri_too_long",
                  "unsupported_media_type",
                  "header_too_large",
                  "internal",
                  "not_implemented",
                  "unavailable",
                  "http_version_not_supported"
                ]
              },
              "message": {
                "type": "string"
              },
              "field": {
                "type": "string"
              },
              "lines": {
                "type": "array",
                "items": {
                  "type": "object",
                  "properties": {
                    "line": {
                      "type": "integer",
                      "minimum": 1
                    },
                    "field": {
                      "type": [
                        "string",
                        "null"
                      ]
                    },
                    "message": {
                      "type": "string"
                    }
                  },
                  "additionalProperties": false,
                  "required": [
                    "line",
                    "field",
                    "message"
                  ]
                }
              }
            },
            "additionalProperties": false,
            "required": [
              "code",
              "message"
            ]
          },
          "current": {
            "type": "object"
          }
        },
        "additionalProperties": false,
        "required": [
          "error"
        ]
      },
      "Reason": {
        "type": "object",
        "properties": {
          "code": {
            "type": "string",
            "enum": [
              "erased",
              "do_not_contact",
              "opted_out",
              "objected",
              "open_case",
              "case_cooloff",
              "environmental_hold",
              "quiet_hours",
              "frequency_cap",
              "low_willingness",
              "unavailable"
            ]
          },
          "message": {
            "type": "string"
          },
          "ref": {
            "type": [
              "string",
              "null"
            ]
          },
          "until": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "additionalProperties": false,
        "required": [
          "code",
          "message",
          "ref",
          "until"
        ]
      },
      "Decision": {
        "type": "object",
        "properties": {
          "decision": {
            "type": "string",
            "enum": [
              "allow",
              "suppress"
            ]
          },
          "decision_id": {
            "type": "string"
          },
          "customer_id": {
            "type": [
              "string",
              "null"
            ]
          },
          "address": {
            "type": "string"
          },
          "channel": {
            "type": "string"
          },
          "purpose": {
            "type": "string"
          },
          "evaluated_at": {
            "type": "string",
            "format": "date-time"
          },
          "retry_after": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "reserved": {
            "type": "boolean",
            "description": "Only with reserve: whether the contact was recorded."
          },
          "reasons": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Reason"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "decision",
          "decision_id",
          "customer_id",
          "channel",
          "purpose",
          "evaluated_at",
          "retry_after",
          "reasons"
        ]
      },
      "DecisionRequest": {
        "type": "object",
        "properties": {
          "customer_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          },
          "address": {
            "type": "string",
            "description": "An e-mail address or an E.164 phone number."
          },
          "channel": {
            "type": "string",
            "pattern": "^[a-z0-9_]{1,32}$",
            "description": "One of the configured channels (default: email, sms, push, voice, ivr, direct_mail, in_app, ads)."
          },
          "purpose": {
            "type": "string",
            "pattern": "^[a-z0-9_]{1,32}$",
            "description": "One of the configured purposes (default: marketing, service, transactional); marketing when omitted."
          },
          "categories": {
            "type": "array",
            "maxItems": 100,
            "items": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            }
          },
          "region": {
            "type": "string",
            "description": "ISO 3166: US or US-CA."
          },
          "timezone": {
            "type": "string",
            "description": "An IANA time zone."
          },
          "at": {
            "type": "string",
            "format": "date-time"
          },
          "reserve": {
            "type": "boolean"
          },
          "campaign_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          }
        },
        "additionalProperties": false,
        "required": [
          "channel"
        ],
        "description": "customer_id or address (or both) is required."
      },
      "BatchItemRequest": {
        "type": "object",
        "properties": {
          "customer_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          },
          "address": {
            "type": "string"
          },
          "channel": {
            "type": "string",
            "pattern": "^[a-z0-9_]{1,32}$"
          },
          "purpose": {
            "type": "string",
            "pattern": "^[a-z0-9_]{1,32}$"
          },
          "categories": {
            "type": "array",
            "maxItems": 100,
            "items": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            }
          },
          "region": {
            "type": "string"
          },
          "timezone": {
            "type": "string"
          },
          "at": {
            "type": "string",
            "format": "date-time"
          },
          "campaign_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          }
        },
        "additionalProperties": false,
        "required": [
          "channel"
        ],
        "description": "A decision request without reserve."
      },
      "Profile": {
        "type": "object",
        "properties": {
          "customer_id": {
            "type": "string"
          },
          "region": {
            "type": [
              "string",
              "null"
            ]
          },
          "timezone": {
            "type": [
              "string",
              "null"
            ]
          },
          "email": {
            "type": [
              "string",
              "null"
            ]
          },
          "phone": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "additionalProperties": false,
        "required": [
          "customer_id",
          "region",
          "timezone",
          "email",
          "phone"
        ]
      },
      "ProfileBody": {
        "type": "object",
        "properties": {
          "region": {
            "type": [
              "string",
              "null"
            ]
          },
          "timezone": {
            "type": [
              "string",
              "null"
            ]
          },
          "email": {
            "type": [
              "string",
              "null"
            ]
          },
          "phone": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "additionalProperties": false
      },
      "Case": {
        "type": "object",
        "properties": {
          "case_id": {
            "type": "string"
          },
          "customer_id": {
            "type": "string"
          },
          "severity": {
            "type": "string",
            "enum": [
              "low",
              "medium",
              "high",
              "critical"
            ]
          },
          "status": {
            "type": "string",
            "enum": [
              "open",
              "pending",
              "closed"
            ]
          },
          "opened_at": {
            "type": "string",
            "format": "date-time"
          },
          "closed_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "resolution": {
            "type": [
              "string",
              "null"
            ],
            "enum": [
              "positive",
              "neutral",
              "negative",
              null
            ]
          },
          "updated_at": {
            "type": "string",
            "format": "date-time"
          }
        },
        "additionalProperties": false,
        "required": [
          "case_id",
          "customer_id",
          "severity",
          "status",
          "opened_at",
          "closed_at",
          "resolution",
          "updated_at"
        ]
      },
      "CaseBody": {
        "type": "object",
        "properties": {
          "customer_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          },
          "severity": {
            "type": "string",
            "enum": [
              "low",
              "medium",
              "high",
              "critical"
            ]
          },
          "status": {
            "type": "string",
            "enum": [
              "open",
              "pending",
              "closed"
            ]
          },
          "opened_at": {
            "type": "string",
            "format": "date-time"
          },
          "closed_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "resolution": {
            "type": [
              "string",
              "null"
            ],
            "enum": [
              "positive",
              "neutral",
              "negative",
              null
            ]
          },
          "updated_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "additionalProperties": false,
        "required": [
          "customer_id",
          "severity",
          "status",
          "opened_at"
        ]
      },
      "Suppression": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "customer_id": {
            "type": "string"
          },
          "address": {
            "type": "string"
          },
          "kind": {
            "type": "string",
            "enum": [
              "do_not_contact",
              "opt_out",
              "objection"
            ]
          },
          "channels": {
            "type": [
              "array",
              "null"
            ],
            "items": {
              "type": "string"
            }
          },
          "purposes": {
            "type": [
              "array",
              "null"
            ],
            "items": {
              "type": "string"
            }
          },
          "source": {
            "type": [
              "string",
              "null"
            ]
          },
          "confirmed": {
            "type": "boolean"
          },
          "expires_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "additionalProperties": false,
        "required": [
          "id",
          "kind",
          "channels",
          "purposes",
          "source",
          "confirmed",
          "expires_at"
        ]
      },
      "SuppressionBody": {
        "type": "object",
        "properties": {
          "customer_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          },
          "address": {
            "type": "string"
          },
          "kind": {
            "type": "string",
            "enum": [
              "do_not_contact",
              "opt_out",
              "objection"
            ]
          },
          "channels": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string",
              "pattern": "^[a-z0-9_]{1,32}$"
            }
          },
          "purposes": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string",
              "pattern": "^[a-z0-9_]{1,32}$"
            }
          },
          "source": {
            "type": [
              "string",
              "null"
            ],
            "minLength": 1,
            "maxLength": 128
          },
          "confirmed": {
            "type": [
              "boolean",
              "null"
            ]
          },
          "expires_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "additionalProperties": false,
        "required": [
          "kind"
        ],
        "description": "customer_id or address, not both."
      },
      "SuppressionPatch": {
        "type": "object",
        "properties": {
          "channels": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string",
              "pattern": "^[a-z0-9_]{1,32}$"
            }
          },
          "purposes": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string",
              "pattern": "^[a-z0-9_]{1,32}$"
            }
          },
          "source": {
            "type": [
              "string",
              "null"
            ],
            "minLength": 1,
            "maxLength": 128
          },
          "confirmed": {
            "type": [
              "boolean",
              "null"
            ]
          },
          "expires_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "additionalProperties": false
      },
      "Hold": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "title": {
            "type": "string"
          },
          "reason": {
            "type": "string"
          },
          "regions": {
            "type": [
              "array",
              "null"
            ],
            "items": {
              "type": "string"
            }
          },
          "channels": {
            "type": [
              "array",
              "null"
            ],
            "items": {
              "type": "string"
            }
          },
          "purposes": {
            "type": [
              "array",
              "null"
            ],
            "items": {
              "type": "string"
            }
          },
          "categories": {
            "type": [
              "array",
              "null"
            ],
            "items": {
              "type": "string"
            }
          },
          "starts_at": {
            "type": "string",
            "format": "date-time"
          },
          "ends_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "additionalProperties": false,
        "required": [
          "id",
          "title",
          "reason",
          "regions",
          "channels",
          "purposes",
          "categories",
          "starts_at",
          "ends_at"
        ]
      },
      "HoldBody": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          },
          "title": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200
          },
          "reason": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 1000
          },
          "regions": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string"
            }
          },
          "channels": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string",
              "pattern": "^[a-z0-9_]{1,32}$"
            }
          },
          "purposes": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string",
              "pattern": "^[a-z0-9_]{1,32}$"
            }
          },
          "categories": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            }
          },
          "starts_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "ends_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "additionalProperties": false,
        "required": [
          "id",
          "title"
        ]
      },
      "HoldPatch": {
        "type": "object",
        "properties": {
          "title": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200
          },
          "reason": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 1000
          },
          "regions": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string"
            }
          },
          "channels": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string",
              "pattern": "^[a-z0-9_]{1,32}$"
            }
          },
          "purposes": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string",
              "pattern": "^[a-z0-9_]{1,32}$"
            }
          },
          "categories": {
            "type": [
              "array",
              "null"
            ],
            "minItems": 1,
            "items": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128
            }
          },
          "starts_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "ends_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "additionalProperties": false
      },
      "ContactBody": {
        "type": "object",
        "properties": {
          "customer_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          },
          "channel": {
            "type": "string",
            "pattern": "^[a-z0-9_]{1,32}$"
          },
          "purpose": {
            "type": "string",
            "pattern": "^[a-z0-9_]{1,32}$"
          },
          "at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "campaign_id": {
            "type": [
              "string",
              "null"
            ],
            "minLength": 1,
            "maxLength": 128
          }
        },
        "additionalProperties": false,
        "required": [
          "customer_id",
          "channel"
        ]
      },
      "Contact": {
        "type": "object",
        "properties": {
          "customer_id": {
            "type": "string"
          },
          "channel": {
            "type": "string"
          },
          "purpose": {
            "type": "string"
          },
          "at": {
            "type": "string",
            "format": "date-time"
          },
          "campaign_id": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "additionalProperties": false,
        "required": [
          "customer_id",
          "channel",
          "purpose",
          "at",
          "campaign_id"
        ]
      },
      "InteractionBody": {
        "type": "object",
        "properties": {
          "customer_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          },
          "type": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          },
          "score": {
            "type": [
              "integer",
              "null"
            ],
            "minimum": -1000,
            "maximum": 1000
          },
          "at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "additionalProperties": false,
        "required": [
          "customer_id",
          "type"
        ]
      },
      "Interaction": {
        "type": "object",
        "properties": {
          "customer_id": {
            "type": "string"
          },
          "type": {
            "type": "string"
          },
          "score": {
            "type": "integer"
          },
          "at": {
            "type": "string",
            "format": "date-time"
          }
        },
        "additionalProperties": false,
        "required": [
          "customer_id",
          "type",
          "score",
          "at"
        ]
      },
      "Deleted": {
        "type": "object",
        "properties": {
          "deleted": {
            "type": "boolean",
            "const": true
          }
        },
        "additionalProperties": false,
        "required": [
          "deleted"
        ]
      },
      "Erasure": {
        "type": "object",
        "properties": {
          "erased": {
            "type": "boolean",
            "const": true
          },
          "removed": {
            "type": "object",
            "properties": {
              "profile": {
                "type": "integer",
                "minimum": 0
              },
              "cases": {
                "type": "integer",
                "minimum": 0
              },
              "suppressions": {
                "type": "integer",
                "minimum": 0
              },
              "contacts": {
                "type": "integer",
                "minimum": 0
              },
              "interactions": {
                "type": "integer",
                "minimum": 0
              }
            },
            "additionalProperties": false,
            "required": [
              "profile",
              "cases",
              "suppressions",
              "contacts",
              "interactions"
            ]
          }
        },
        "additionalProperties": false,
        "required": [
          "erased",
          "removed"
        ]
      },
      "ImportResult": {
        "type": "object",
        "description": "imported: rows written; unchanged: rows equal to what is stored. A dry run writes nothing: imported is 0, would_import says how many rows the same file would write, and dry_run is true.",
        "properties": {
          "imported": {
            "type": "integer",
            "minimum": 0
          },
          "unchanged": {
            "type": "integer",
            "minimum": 0
          },
          "dry_run": {
            "type": "boolean"
          },
          "would_import": {
            "type": "integer",
            "minimum": 0
          }
        },
        "additionalProperties": false,
        "required": [
          "imported",
          "unchanged"
        ]
      },
      "Status": {
        "type": "object",
        "properties": {
          "status": {
            "type": "string"
          },
          "failing": {
            "type": "string"
          }
        },
        "additionalProperties": false,
        "required": [
          "status"
        ]
      },
      "CustomerView": {
        "type": "object",
        "properties": {
          "customer_id": {
            "type": "string"
          },
          "profile": {
            "oneOf": [
              {
                "$ref": "#/components/schemas/Profile"
              },
              {
                "type": "null"
              }
            ]
          },
          "erased": {
            "type": "boolean"
          },
          "cases": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Case"
            }
          },
          "suppressions": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Suppression"
            }
          },
          "holds": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Hold"
            }
          },
          "contacts": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {
                "channel": {
                  "type": "string"
                },
                "purpose": {
                  "type": "string"
                },
                "at": {
                  "type": "string",
                  "format": "date-time"
                }
              },
              "additionalProperties": false,
              "required": [
                "channel",
                "purpose",
                "at"
              ]
            }
          },
          "willingness": {
            "type": "object",
            "properties": {
              "score": {
                "type": "integer"
              },
              "threshold": {
                "type": "integer"
              },
              "window_days": {
                "type": "number"
              },
              "interactions": {
                "type": "array",
                "description": "The interactions inside the window, newest first; their scores add up to score.",
                "items": {
                  "type": "object",
                  "properties": {
                    "type": {
                      "type": "string"
                    },
                    "score": {
                      "type": "integer"
                    },
                    "at": {
                      "type": "string",
                      "format": "date-time"
                    }
                  },
                  "additionalProperties": false,
                  "required": [
                    "type",
                    "score",
                    "at"
                  ]
                }
              }
            },
            "additionalProperties": false,
            "required": [
              "score",
              "threshold",
              "window_days",
              "interactions"
            ]
          },
          "decisions": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Decision"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "customer_id",
          "profile",
          "erased",
          "cases",
          "suppressions",
          "holds",
          "contacts",
          "willingness",
          "decisions"
        ]
      },
      "BatchResult": {
        "type": "object",
        "properties": {
          "results": {
            "type": "array",
            "items": {
              "oneOf": [
                {
                  "$ref": "#/components/schemas/Decision"
                },
                {
                  "$ref": "#/components/schemas/Error"
                }
              ]
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "results"
        ]
      },
      "CustomerDecisions": {
        "type": "object",
        "properties": {
          "customer_id": {
            "type": "string"
          },
          "purpose": {
            "type": "string"
          },
          "decisions": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Decision"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "customer_id",
          "purpose",
          "decisions"
        ]
      }
    },
    "responses": {
      "Error": {
        "description": "An error, in the shape every error has.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      }
    },
    "parameters": {
      "pretty": {
        "name": "pretty",
        "in": "query",
        "required": false,
        "schema": {
          "type": "string",
          "enum": [
            "",
            "true",
            "false"
          ]
        },
        "allowEmptyValue": true,
        "description": "Indent the JSON for people: ?pretty or pretty=true; pretty=false does not. Another value is 400 on /v1/ routes."
      }
    },
    "securitySchemes": {
      "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from auth.keys."
      }
    }
  }
}

"""#
}
