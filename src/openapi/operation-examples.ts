/**
 * One real exchange per operation, recorded from a service run through the README walkthrough (its examples/ events
 * and keys made for the purpose), for the OpenAPI document. test/operations/openapi.spec.ts checks that every
 * operation has one and that each is valid against the schema it illustrates, so they cannot drift from the API.
 */
export interface OperationExample {
  readonly request?: unknown;
  /** By status code. */
  readonly responses?: Readonly<Record<string, unknown>>;
}

export const OPERATION_EXAMPLES: Readonly<Record<string, OperationExample>> = {
  "HealthController_live": {
    "responses": {
      "200": {
        "status": "ok",
        "info": {},
        "error": {},
        "details": {}
      }
    }
  },
  "HealthController_ready": {
    "responses": {
      "200": {
        "status": "ok",
        "info": {
          "database": {
            "responseTime": 51,
            "status": "up"
          },
          "linker": {
            "pending_records": 0,
            "oldest_pending_seconds": 0,
            "linked_below": "1",
            "status": "up"
          },
          "findings": {
            "pending_subjects": 0,
            "oldest_due_seconds": 0,
            "status": "up"
          }
        },
        "error": {},
        "details": {
          "database": {
            "responseTime": 51,
            "status": "up"
          },
          "linker": {
            "pending_records": 0,
            "oldest_pending_seconds": 0,
            "linked_below": "1",
            "status": "up"
          },
          "findings": {
            "pending_subjects": 0,
            "oldest_due_seconds": 0,
            "status": "up"
          }
        }
      }
    }
  },
  "ApiKeysController_create": {
    "request": {
      "name": "incident-review",
      "scopes": [
        "audit:read",
        "audit:export"
      ]
    },
    "responses": {
      "201": {
        "id": "43fcad85-8dee-40be-a9b0-e5a38c50165e",
        "name": "incident-review",
        "scopes": [
          "audit:read",
          "audit:export"
        ],
        "created_at": "2026-12-04T03:45:51.257Z",
        "revoked_at": null,
        "key": "jtk_45hWMbakhOTQUV_4vLv0tI7QvcO2FHQc3bRAC1Amnvs"
      }
    }
  },
  "ApiKeysController_revoke": {
    "responses": {
      "200": {
        "id": "43fcad85-8dee-40be-a9b0-e5a38c50165e",
        "name": "incident-review",
        "scopes": [
          "audit:read",
          "audit:export"
        ],
        "created_at": "2026-12-04T03:45:51.257Z",
        "revoked_at": "2026-12-04T03:45:51.265Z"
      }
    }
  },
  "ApiKeysController_list": {
    "responses": {
      "200": {
        "items": [
          {
            "id": "c7940baa-67b9-4668-948e-63ae97f333a4",
            "name": "bootstrap-admin",
            "scopes": [
              "audit:read",
              "audit:export",
              "audit:admin",
              "audit:triage"
            ],
            "created_at": "2026-12-04T03:45:51.020Z",
            "revoked_at": null
          },
          {
            "id": "0795a82f-68a6-4c78-af00-c70ef6126b21",
            "name": "incident-review",
            "scopes": [
              "audit:read",
              "audit:export"
            ],
            "created_at": "2026-12-04T03:45:51.247Z",
            "revoked_at": null
          },
          {
            "id": "43fcad85-8dee-40be-a9b0-e5a38c50165e",
            "name": "incident-review",
            "scopes": [
              "audit:read",
              "audit:export"
            ],
            "created_at": "2026-12-04T03:45:51.257Z",
            "revoked_at": "2026-12-04T03:45:51.265Z"
          }
        ]
      }
    }
  },
  "SourcesController_create": {
    "request": {
      "name": "as-1",
      "kind": "authorization_server"
    },
    "responses": {
      "201": {
        "id": "0b633643-6047-49b2-9cd0-2979afbeb780",
        "name": "as-1",
        "kind": "authorization_server",
        "status": "enabled",
        "created_at": "2026-12-04T03:45:51.282Z",
        "disabled_at": null,
        "secrets": [
          {
            "id": "828358fe-cf8f-4da0-8666-b2e1e448ee53",
            "created_at": "2026-12-04T03:45:51.282Z",
            "expires_at": null
          }
        ],
        "set_jwks": null,
        "set_jwks_uri": null,
        "secret": "whsec_E0PeB0FbMEtdww+do52KqKpZ8b5PPyGU3Ts+F4vZVtk="
      }
    }
  },
  "SourcesController_setSetKeys": {
    "request": {
      "set_jwks": {
        "keys": [
          {
            "kty": "EC",
            "x": "ar4qlhUb_mVDqAtW84jEUbEMWdAj7FpwN9x0L_O098s",
            "y": "R9qzTKecFG0aiF7bw7sZRC0REu4BHNBrbE7ajTt3WGE",
            "crv": "P-256",
            "kid": "as-1-set-2026-12",
            "alg": "ES256",
            "use": "sig"
          }
        ]
      }
    },
    "responses": {
      "200": {
        "id": "0b633643-6047-49b2-9cd0-2979afbeb780",
        "name": "as-1",
        "kind": "authorization_server",
        "status": "enabled",
        "created_at": "2026-12-04T03:45:51.282Z",
        "disabled_at": null,
        "secrets": [
          {
            "id": "828358fe-cf8f-4da0-8666-b2e1e448ee53",
            "created_at": "2026-12-04T03:45:51.282Z",
            "expires_at": null
          }
        ],
        "set_jwks": {
          "keys": [
            {
              "x": "ar4qlhUb_mVDqAtW84jEUbEMWdAj7FpwN9x0L_O098s",
              "y": "R9qzTKecFG0aiF7bw7sZRC0REu4BHNBrbE7ajTt3WGE",
              "alg": "ES256",
              "crv": "P-256",
              "kid": "as-1-set-2026-12",
              "kty": "EC",
              "use": "sig"
            }
          ]
        },
        "set_jwks_uri": null
      }
    }
  },
  "SourcesController_get": {
    "responses": {
      "200": {
        "id": "0b633643-6047-49b2-9cd0-2979afbeb780",
        "name": "as-1",
        "kind": "authorization_server",
        "status": "enabled",
        "created_at": "2026-12-04T03:45:51.282Z",
        "disabled_at": null,
        "secrets": [
          {
            "id": "828358fe-cf8f-4da0-8666-b2e1e448ee53",
            "created_at": "2026-12-04T03:45:51.282Z",
            "expires_at": null
          }
        ],
        "set_jwks": {
          "keys": [
            {
              "x": "ar4qlhUb_mVDqAtW84jEUbEMWdAj7FpwN9x0L_O098s",
              "y": "R9qzTKecFG0aiF7bw7sZRC0REu4BHNBrbE7ajTt3WGE",
              "alg": "ES256",
              "crv": "P-256",
              "kid": "as-1-set-2026-12",
              "kty": "EC",
              "use": "sig"
            }
          ]
        },
        "set_jwks_uri": null
      }
    }
  },
  "SourcesController_disable": {
    "responses": {
      "200": {
        "id": "3a059851-287d-4c92-ad7b-d15abed719e2",
        "name": "agent-2",
        "kind": "agent",
        "status": "disabled",
        "created_at": "2026-12-04T03:45:51.332Z",
        "disabled_at": "2026-12-04T03:45:51.340Z",
        "secrets": [
          {
            "id": "de9b94ca-c18b-494a-aecc-312c4e222fdf",
            "created_at": "2026-12-04T03:45:51.332Z",
            "expires_at": null
          }
        ],
        "set_jwks": null,
        "set_jwks_uri": null
      }
    }
  },
  "SourcesController_enable": {
    "responses": {
      "200": {
        "id": "3a059851-287d-4c92-ad7b-d15abed719e2",
        "name": "agent-2",
        "kind": "agent",
        "status": "enabled",
        "created_at": "2026-12-04T03:45:51.332Z",
        "disabled_at": null,
        "secrets": [
          {
            "id": "de9b94ca-c18b-494a-aecc-312c4e222fdf",
            "created_at": "2026-12-04T03:45:51.332Z",
            "expires_at": null
          }
        ],
        "set_jwks": null,
        "set_jwks_uri": null
      }
    }
  },
  "SourcesController_rotateSecret": {
    "request": {
      "grace_period_seconds": 3600
    },
    "responses": {
      "201": {
        "id": "3a059851-287d-4c92-ad7b-d15abed719e2",
        "name": "agent-2",
        "kind": "agent",
        "status": "enabled",
        "created_at": "2026-12-04T03:45:51.332Z",
        "disabled_at": null,
        "secrets": [
          {
            "id": "d2991543-c8a1-43ad-9d6d-b7658b258639",
            "created_at": "2026-12-04T03:45:51.359Z",
            "expires_at": null
          },
          {
            "id": "de9b94ca-c18b-494a-aecc-312c4e222fdf",
            "created_at": "2026-12-04T03:45:51.332Z",
            "expires_at": "2026-12-04T04:45:51.358Z"
          }
        ],
        "set_jwks": null,
        "set_jwks_uri": null,
        "secret": "whsec_ftKT7DPc88T2VHYayPKWUk3/wUFPpgetTjIawpGsOS4="
      }
    }
  },
  "SourcesController_list": {
    "responses": {
      "200": {
        "items": [
          {
            "id": "0b633643-6047-49b2-9cd0-2979afbeb780",
            "name": "as-1",
            "kind": "authorization_server",
            "status": "enabled",
            "created_at": "2026-12-04T03:45:51.282Z",
            "disabled_at": null,
            "secrets": [
              {
                "id": "828358fe-cf8f-4da0-8666-b2e1e448ee53",
                "created_at": "2026-12-04T03:45:51.282Z",
                "expires_at": null
              }
            ],
            "set_jwks": {
              "keys": [
                {
                  "x": "ar4qlhUb_mVDqAtW84jEUbEMWdAj7FpwN9x0L_O098s",
                  "y": "R9qzTKecFG0aiF7bw7sZRC0REu4BHNBrbE7ajTt3WGE",
                  "alg": "ES256",
                  "crv": "P-256",
                  "kid": "as-1-set-2026-12",
                  "kty": "EC",
                  "use": "sig"
                }
              ]
            },
            "set_jwks_uri": null
          },
          {
            "id": "0404dcb1-b350-4b27-a3b2-bd19de473073",
            "name": "tokens-1",
            "kind": "token_service",
            "status": "enabled",
            "created_at": "2026-12-04T03:45:51.296Z",
            "disabled_at": null,
            "secrets": [
              {
                "id": "3130a89a-adde-4391-87ec-66a6e9b8d5b0",
                "created_at": "2026-12-04T03:45:51.296Z",
                "expires_at": null
              }
            ],
            "set_jwks": null,
            "set_jwks_uri": null
          },
          {
            "id": "fbf10c65-c538-4464-b69a-e695a6be79a1",
            "name": "agent-1",
            "kind": "agent",
            "status": "enabled",
            "created_at": "2026-12-04T03:45:51.306Z",
            "disabled_at": null,
            "secrets": [
              {
                "id": "9cb23a94-8c4b-41d7-ace1-67be0356ad53",
                "created_at": "2026-12-04T03:45:51.306Z",
                "expires_at": null
              }
            ],
            "set_jwks": null,
            "set_jwks_uri": null
          },
          {
            "id": "3a059851-287d-4c92-ad7b-d15abed719e2",
            "name": "agent-2",
            "kind": "agent",
            "status": "enabled",
            "created_at": "2026-12-04T03:45:51.332Z",
            "disabled_at": null,
            "secrets": [
              {
                "id": "d2991543-c8a1-43ad-9d6d-b7658b258639",
                "created_at": "2026-12-04T03:45:51.359Z",
                "expires_at": null
              },
              {
                "id": "de9b94ca-c18b-494a-aecc-312c4e222fdf",
                "created_at": "2026-12-04T03:45:51.332Z",
                "expires_at": "2026-12-04T04:45:51.358Z"
              }
            ],
            "set_jwks": null,
            "set_jwks_uri": null
          }
        ]
      }
    }
  },
  "ClientsController_create": {
    "request": {
      "client_id": "agent-app",
      "jwks": {
        "keys": [
          {
            "kty": "EC",
            "x": "L5iH-x-dieSdzQTHFaPm5erZ-E7ZxOhGfvqAmknjsT0",
            "y": "YPH7qFjLHPBI-a-yfJPWqqhRq-EWaiq7bJkjkEs4ELs",
            "crv": "P-256",
            "kid": "agent-app-2026-11",
            "use": "sig",
            "alg": "ES256"
          }
        ]
      },
      "request_object_signing_alg_values": [
        "ES256"
      ],
      "redirect_uris": [
        "https://agent.example.com/cb"
      ]
    },
    "responses": {
      "201": {
        "client_id": "agent-app",
        "jwks": {
          "keys": [
            {
              "x": "L5iH-x-dieSdzQTHFaPm5erZ-E7ZxOhGfvqAmknjsT0",
              "y": "YPH7qFjLHPBI-a-yfJPWqqhRq-EWaiq7bJkjkEs4ELs",
              "alg": "ES256",
              "crv": "P-256",
              "kid": "agent-app-2026-11",
              "kty": "EC",
              "use": "sig"
            }
          ]
        },
        "jwks_uri": null,
        "request_object_signing_alg_values": [
          "ES256"
        ],
        "require_signed_request_object": false,
        "require_encrypted_request_object": false,
        "request_object_encryption_alg_values": [],
        "request_object_encryption_enc_values": [],
        "high_impact_scopes": [],
        "high_impact_authorization_details_types": [],
        "sensitive_scopes": [],
        "sensitive_authorization_details_types": [],
        "redirect_uris": [
          "https://agent.example.com/cb"
        ],
        "max_request_object_lifetime": 3600,
        "created_at": "2026-12-04T03:45:51.375Z",
        "updated_at": "2026-12-04T03:45:51.375Z",
        "status": "enabled",
        "disabled_at": null
      }
    }
  },
  "ClientsController_update": {
    "request": {
      "jwks": {
        "keys": [
          {
            "kty": "EC",
            "x": "L5iH-x-dieSdzQTHFaPm5erZ-E7ZxOhGfvqAmknjsT0",
            "y": "YPH7qFjLHPBI-a-yfJPWqqhRq-EWaiq7bJkjkEs4ELs",
            "crv": "P-256",
            "kid": "agent-app-2026-11",
            "use": "sig",
            "alg": "ES256"
          }
        ]
      },
      "request_object_signing_alg_values": [
        "ES256"
      ],
      "redirect_uris": [
        "https://agent.example.com/cb"
      ],
      "high_impact_scopes": [
        "mail.send"
      ]
    },
    "responses": {
      "200": {
        "client_id": "agent-app",
        "jwks": {
          "keys": [
            {
              "x": "L5iH-x-dieSdzQTHFaPm5erZ-E7ZxOhGfvqAmknjsT0",
              "y": "YPH7qFjLHPBI-a-yfJPWqqhRq-EWaiq7bJkjkEs4ELs",
              "alg": "ES256",
              "crv": "P-256",
              "kid": "agent-app-2026-11",
              "kty": "EC",
              "use": "sig"
            }
          ]
        },
        "jwks_uri": null,
        "request_object_signing_alg_values": [
          "ES256"
        ],
        "require_signed_request_object": false,
        "require_encrypted_request_object": false,
        "request_object_encryption_alg_values": [],
        "request_object_encryption_enc_values": [],
        "high_impact_scopes": [
          "mail.send"
        ],
        "high_impact_authorization_details_types": [],
        "sensitive_scopes": [],
        "sensitive_authorization_details_types": [],
        "redirect_uris": [
          "https://agent.example.com/cb"
        ],
        "max_request_object_lifetime": 3600,
        "created_at": "2026-12-04T03:45:51.375Z",
        "updated_at": "2026-12-04T03:45:51.387Z",
        "status": "enabled",
        "disabled_at": null
      }
    }
  },
  "ClientsController_get": {
    "responses": {
      "200": {
        "client_id": "agent-app",
        "jwks": {
          "keys": [
            {
              "x": "L5iH-x-dieSdzQTHFaPm5erZ-E7ZxOhGfvqAmknjsT0",
              "y": "YPH7qFjLHPBI-a-yfJPWqqhRq-EWaiq7bJkjkEs4ELs",
              "alg": "ES256",
              "crv": "P-256",
              "kid": "agent-app-2026-11",
              "kty": "EC",
              "use": "sig"
            }
          ]
        },
        "jwks_uri": null,
        "request_object_signing_alg_values": [
          "ES256"
        ],
        "require_signed_request_object": false,
        "require_encrypted_request_object": false,
        "request_object_encryption_alg_values": [],
        "request_object_encryption_enc_values": [],
        "high_impact_scopes": [
          "mail.send"
        ],
        "high_impact_authorization_details_types": [],
        "sensitive_scopes": [],
        "sensitive_authorization_details_types": [],
        "redirect_uris": [
          "https://agent.example.com/cb"
        ],
        "max_request_object_lifetime": 3600,
        "created_at": "2026-12-04T03:45:51.375Z",
        "updated_at": "2026-12-04T03:45:51.387Z",
        "status": "enabled",
        "disabled_at": null
      }
    }
  },
  "ClientsController_disable": {
    "responses": {
      "200": {
        "client_id": "calendar-app",
        "jwks": {
          "keys": [
            {
              "x": "L5iH-x-dieSdzQTHFaPm5erZ-E7ZxOhGfvqAmknjsT0",
              "y": "YPH7qFjLHPBI-a-yfJPWqqhRq-EWaiq7bJkjkEs4ELs",
              "alg": "ES256",
              "crv": "P-256",
              "kid": "agent-app-2026-11",
              "kty": "EC",
              "use": "sig"
            }
          ]
        },
        "jwks_uri": null,
        "request_object_signing_alg_values": [
          "ES256"
        ],
        "require_signed_request_object": false,
        "require_encrypted_request_object": false,
        "request_object_encryption_alg_values": [],
        "request_object_encryption_enc_values": [],
        "high_impact_scopes": [],
        "high_impact_authorization_details_types": [],
        "sensitive_scopes": [],
        "sensitive_authorization_details_types": [],
        "redirect_uris": [],
        "max_request_object_lifetime": 3600,
        "created_at": "2026-12-04T03:45:51.400Z",
        "updated_at": "2026-12-04T03:45:51.400Z",
        "status": "disabled",
        "disabled_at": "2026-12-04T03:45:51.407Z"
      }
    }
  },
  "ClientsController_enable": {
    "responses": {
      "200": {
        "client_id": "calendar-app",
        "jwks": {
          "keys": [
            {
              "x": "L5iH-x-dieSdzQTHFaPm5erZ-E7ZxOhGfvqAmknjsT0",
              "y": "YPH7qFjLHPBI-a-yfJPWqqhRq-EWaiq7bJkjkEs4ELs",
              "alg": "ES256",
              "crv": "P-256",
              "kid": "agent-app-2026-11",
              "kty": "EC",
              "use": "sig"
            }
          ]
        },
        "jwks_uri": null,
        "request_object_signing_alg_values": [
          "ES256"
        ],
        "require_signed_request_object": false,
        "require_encrypted_request_object": false,
        "request_object_encryption_alg_values": [],
        "request_object_encryption_enc_values": [],
        "high_impact_scopes": [],
        "high_impact_authorization_details_types": [],
        "sensitive_scopes": [],
        "sensitive_authorization_details_types": [],
        "redirect_uris": [],
        "max_request_object_lifetime": 3600,
        "created_at": "2026-12-04T03:45:51.400Z",
        "updated_at": "2026-12-04T03:45:51.400Z",
        "status": "enabled",
        "disabled_at": null
      }
    }
  },
  "ClientsController_list": {
    "responses": {
      "200": {
        "items": [
          {
            "client_id": "agent-app",
            "jwks": {
              "keys": [
                {
                  "x": "L5iH-x-dieSdzQTHFaPm5erZ-E7ZxOhGfvqAmknjsT0",
                  "y": "YPH7qFjLHPBI-a-yfJPWqqhRq-EWaiq7bJkjkEs4ELs",
                  "alg": "ES256",
                  "crv": "P-256",
                  "kid": "agent-app-2026-11",
                  "kty": "EC",
                  "use": "sig"
                }
              ]
            },
            "jwks_uri": null,
            "request_object_signing_alg_values": [
              "ES256"
            ],
            "require_signed_request_object": false,
            "require_encrypted_request_object": false,
            "request_object_encryption_alg_values": [],
            "request_object_encryption_enc_values": [],
            "high_impact_scopes": [
              "mail.send"
            ],
            "high_impact_authorization_details_types": [],
            "sensitive_scopes": [],
            "sensitive_authorization_details_types": [],
            "redirect_uris": [
              "https://agent.example.com/cb"
            ],
            "max_request_object_lifetime": 3600,
            "created_at": "2026-12-04T03:45:51.375Z",
            "updated_at": "2026-12-04T03:45:51.387Z",
            "status": "enabled",
            "disabled_at": null
          },
          {
            "client_id": "calendar-app",
            "jwks": {
              "keys": [
                {
                  "x": "L5iH-x-dieSdzQTHFaPm5erZ-E7ZxOhGfvqAmknjsT0",
                  "y": "YPH7qFjLHPBI-a-yfJPWqqhRq-EWaiq7bJkjkEs4ELs",
                  "alg": "ES256",
                  "crv": "P-256",
                  "kid": "agent-app-2026-11",
                  "kty": "EC",
                  "use": "sig"
                }
              ]
            },
            "jwks_uri": null,
            "request_object_signing_alg_values": [
              "ES256"
            ],
            "require_signed_request_object": false,
            "require_encrypted_request_object": false,
            "request_object_encryption_alg_values": [],
            "request_object_encryption_enc_values": [],
            "high_impact_scopes": [],
            "high_impact_authorization_details_types": [],
            "sensitive_scopes": [],
            "sensitive_authorization_details_types": [],
            "redirect_uris": [],
            "max_request_object_lifetime": 3600,
            "created_at": "2026-12-04T03:45:51.400Z",
            "updated_at": "2026-12-04T03:45:51.400Z",
            "status": "enabled",
            "disabled_at": null
          }
        ]
      }
    }
  },
  "ClientsController_addDecryptionKey": {
    "request": {
      "issuer": "https://as.example.com",
      "alg": "ECDH-ES+A256KW",
      "jwk": {
        "kty": "EC",
        "x": "7Uva9o23VYekjiBVSis_DDGh5ruIawTrW111Oel_XtM",
        "y": "rycouYfDYpmRG1zkaes6oe7XWsIr8s1U8wByOILkdWs",
        "crv": "P-256",
        "d": "GwetwljwdvmqyYz5Y-am_xYvhSg3jOXPlykJPJVXWwg",
        "kid": "as-enc-2026-12"
      }
    },
    "responses": {
      "201": {
        "id": "0d4fe6be-9729-4cb7-bc01-f861a96bedea",
        "issuer": "https://as.example.com",
        "alg": "ECDH-ES+A256KW",
        "kid": "as-enc-2026-12",
        "public_jwk": {
          "x": "7Uva9o23VYekjiBVSis_DDGh5ruIawTrW111Oel_XtM",
          "y": "rycouYfDYpmRG1zkaes6oe7XWsIr8s1U8wByOILkdWs",
          "crv": "P-256",
          "kid": "as-enc-2026-12",
          "kty": "EC"
        },
        "created_at": "2026-12-04T03:45:51.425Z",
        "status": "enabled",
        "disabled_at": null
      }
    }
  },
  "ClientsController_disableDecryptionKey": {
    "responses": {
      "200": {
        "id": "0d4fe6be-9729-4cb7-bc01-f861a96bedea",
        "issuer": "https://as.example.com",
        "alg": "ECDH-ES+A256KW",
        "kid": "as-enc-2026-12",
        "public_jwk": {
          "x": "7Uva9o23VYekjiBVSis_DDGh5ruIawTrW111Oel_XtM",
          "y": "rycouYfDYpmRG1zkaes6oe7XWsIr8s1U8wByOILkdWs",
          "crv": "P-256",
          "kid": "as-enc-2026-12",
          "kty": "EC"
        },
        "created_at": "2026-12-04T03:45:51.425Z",
        "status": "disabled",
        "disabled_at": "2026-12-04T03:45:51.430Z"
      }
    }
  },
  "ClientsController_listDecryptionKeys": {
    "responses": {
      "200": {
        "items": [
          {
            "id": "0d4fe6be-9729-4cb7-bc01-f861a96bedea",
            "issuer": "https://as.example.com",
            "alg": "ECDH-ES+A256KW",
            "kid": "as-enc-2026-12",
            "public_jwk": {
              "x": "7Uva9o23VYekjiBVSis_DDGh5ruIawTrW111Oel_XtM",
              "y": "rycouYfDYpmRG1zkaes6oe7XWsIr8s1U8wByOILkdWs",
              "crv": "P-256",
              "kid": "as-enc-2026-12",
              "kty": "EC"
            },
            "created_at": "2026-12-04T03:45:51.425Z",
            "status": "disabled",
            "disabled_at": "2026-12-04T03:45:51.430Z"
          }
        ]
      }
    }
  },
  "IngestController_recordOne": {
    "responses": {
      "200": {
        "event_id": "evt-example-verification-1",
        "status": "duplicate",
        "position": "1"
      },
      "202": {
        "event_id": "evt-example-verification-1",
        "status": "accepted",
        "position": "1"
      }
    }
  },
  "IngestController_recordBatch": {
    "responses": {
      "200": {
        "accepted": 1,
        "duplicates": 0,
        "conflicts": 0,
        "rejected": 0,
        "position": "4",
        "results": [
          {
            "index": 0,
            "event_id": "evt-example-token-1",
            "status": "accepted",
            "position": "4"
          }
        ]
      }
    }
  },
  "SetsController_record": {
    "request": "eyJhbGciOiJFUzI1NiIsImtpZCI6ImFzLTEtc2V0LTIwMjYtMTIiLCJ0eXAiOiJzZWNldmVudCtqd3QifQ.eyJldmVudHMiOnsidXJuOmphcnRyYWlsOmV2ZW50OmNvbnNlbnQuZGVjaXNpb24iOnsiZGlnZXN0IjoieUJYZzNwWGJjQVMtYUhXTTEtSm9zRzF0UHlUcFk2bVc0YlpQQmR0bmlicyIsImRlY2lzaW9uIjoiYXBwcm92ZWQiLCJzdWJqZWN0IjoiYWxpY2VAZXhhbXBsZS5jb20iLCJncmFudGVkIjp7InNjb3BlIjoib3BlbmlkIG1haWwuc2VuZCJ9fX0sImlzcyI6IjBiNjMzNjQzLTYwNDctNDliMi05Y2QwLTI5NzlhZmJlYjc4MCIsImF1ZCI6Imh0dHA6Ly9sb2NhbGhvc3Q6MzAwMCIsImp0aSI6ImV2dC1leGFtcGxlLWNvbnNlbnQtc2V0LTEiLCJpYXQiOjE3OTU4NjAwMjB9.LhyRz9tRZgB8EB55ZVP6afwh0v4zrO_UfdSwJPeTiOPPLkdF2PL1s1m2rvRgYurvcK5rMtqoD6yFHybP-kpTHw"
  },
  "LedgerController_checkpointNow": {
    "responses": {
      "200": {
        "kind": "checkpoint",
        "tree_size": 9,
        "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
        "issued_at": "2026-12-04T03:45:51.662000Z",
        "kid": "Kqo8CncLxEnOtgFr1yepoYtHsAaLyxfeLEPimjSSnmU",
        "jws": "eyJhbGciOiJFZERTQSIsImtpZCI6IktxbzhDbmNMeEVuT3RnRnIxeWVwb1l0SHNBYUx5eGZlTEVQaW1qU1NubVUiLCJ0eXAiOiJqYXJ0cmFpbC1jaGVja3BvaW50K2pzb24ifQ.eyJpc3N1ZWRfYXQiOiIyMDI2LTEyLTA0VDAzOjQ1OjUxLjY2MjAwMFoiLCJsb2ciOiJqYXJ0cmFpbCIsInJvb3RfaGFzaCI6Ijd4T1U3VHhGbHBBcE9DaHpRYUVxOVBEWjBPTjdCWFdGdzhvUjlBVUc4WTgiLCJ0cmVlX3NpemUiOjl9.GzAB2NPeFpcnUdkvAs8OZcB3OdK1Kv0Ktm4E4IQkorFqcaju0vs4wdhiWIm9Dgcf_XS_tfBkCGIGUgwOiLi6BA"
      }
    }
  },
  "ChainsController_getChain": {
    "responses": {
      "200": {
        "digest": "yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs",
        "aliases": [],
        "unsigned": false,
        "first_recorded_at": "2026-12-04T03:45:51.451Z",
        "request_object": {
          "verifications": [
            {
              "event_id": "evt-example-verification-1",
              "source": {
                "id": "0b633643-6047-49b2-9cd0-2979afbeb780",
                "name": "as-1"
              },
              "type": "request_object.verification",
              "occurred_at": "2026-11-28T10:00:01.000Z",
              "emitted_at": "2026-11-28T10:00:01.000Z",
              "recorded_at": "2026-12-04T03:45:51.451Z",
              "data": {
                "claims": {
                  "aud": "https://as.example.com",
                  "exp": 1795860300,
                  "iat": 1795860000,
                  "iss": "agent-app",
                  "jti": "ro-7f3c2a",
                  "nbf": 1795860000,
                  "scope": "openid mail.send",
                  "nonce_hash": "CCOgm1TLk4FWEGiwCq9OU5s_VGBGMdPmqCCHm2sEzBk",
                  "state_hash": "bOhtX8F73IMjSPeVAqxyTQiEkXHxVyptgiWb4BWYG30",
                  "redirect_uri": "https://agent.example.com/cb",
                  "response_type": "code"
                },
                "digest": "yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs",
                "header": {
                  "alg": "ES256",
                  "kid": "agent-app-2026-11",
                  "typ": "oauth-authz-req+jwt"
                },
                "issuer": "https://as.example.com",
                "verdict": "accepted",
                "delivery": "par",
                "client_id": "agent-app",
                "request_uri": "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c",
                "request_object": "eyJhbGciOiJFUzI1NiIsImtpZCI6ImFnZW50LWFwcC0yMDI2LTExIiwidHlwIjoib2F1dGgtYXV0aHotcmVxK2p3dCJ9.eyJpc3MiOiJhZ2VudC1hcHAiLCJjbGllbnRfaWQiOiJhZ2VudC1hcHAiLCJhdWQiOiJodHRwczovL2FzLmV4YW1wbGUuY29tIiwicmVzcG9uc2VfdHlwZSI6ImNvZGUiLCJyZWRpcmVjdF91cmkiOiJodHRwczovL2FnZW50LmV4YW1wbGUuY29tL2NiIiwic2NvcGUiOiJvcGVuaWQgbWFpbC5zZW5kIiwic3RhdGUiOiJhZjBpZmpzbGRraiIsIm5vbmNlIjoibi0wUzZfV3pBMk1qIiwianRpIjoicm8tN2YzYzJhIiwiaWF0IjoxNzk1ODYwMDAwLCJuYmYiOjE3OTU4NjAwMDAsImV4cCI6MTc5NTg2MDMwMH0.G64-KWCivZytOYsmwiftJLg508fha9aeQsLhqxi0dFwddpcxhOyoqIW6VX375adL1JLk4B254YKNrlpyhT-Y4A"
              },
              "ledger": {
                "seq": 0,
                "checkpoint": {
                  "tree_size": 9,
                  "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
                  "issued_at": "2026-12-04T03:45:51.662000Z"
                },
                "payload_purged": null
              },
              "independent": {
                "status": "pending",
                "as_verdict": "accepted",
                "mismatch": false,
                "reasons": [],
                "alg": null,
                "kid": null,
                "inner_digest": null,
                "opaque": false,
                "verified_at": null
              }
            }
          ]
        },
        "verdict_mismatch": false,
        "consents": [
          {
            "event_id": "evt-example-consent-1",
            "source": {
              "id": "0b633643-6047-49b2-9cd0-2979afbeb780",
              "name": "as-1"
            },
            "type": "consent.decision",
            "occurred_at": "2026-11-28T10:00:20.000Z",
            "emitted_at": "2026-11-28T10:00:20.000Z",
            "recorded_at": "2026-12-04T03:45:51.493Z",
            "data": {
              "digest": "yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs",
              "granted": {
                "scope": "openid mail.send"
              },
              "subject": "psn:i8MhubTNCB3I6_0pHvBfd6CTUc_7NwZeMsjEZZqNYMk",
              "decision": "approved"
            },
            "ledger": {
              "seq": 1,
              "checkpoint": {
                "tree_size": 9,
                "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
                "issued_at": "2026-12-04T03:45:51.662000Z"
              },
              "payload_purged": null
            }
          },
          {
            "event_id": "evt-example-consent-set-1",
            "source": {
              "id": "0b633643-6047-49b2-9cd0-2979afbeb780",
              "name": "as-1"
            },
            "type": "consent.decision",
            "occurred_at": "2026-11-28T10:00:20.000Z",
            "emitted_at": "2026-11-28T10:00:20.000Z",
            "recorded_at": "2026-12-04T03:45:51.591Z",
            "data": {
              "digest": "yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs",
              "granted": {
                "scope": "openid mail.send"
              },
              "subject": "psn:i8MhubTNCB3I6_0pHvBfd6CTUc_7NwZeMsjEZZqNYMk",
              "decision": "approved"
            },
            "ledger": {
              "seq": 8,
              "checkpoint": {
                "tree_size": 9,
                "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
                "issued_at": "2026-12-04T03:45:51.662000Z"
              },
              "payload_purged": null
            }
          }
        ],
        "tokens": [
          {
            "event_id": "evt-example-token-1",
            "source": {
              "id": "0404dcb1-b350-4b27-a3b2-bd19de473073",
              "name": "tokens-1"
            },
            "type": "token.issued",
            "occurred_at": "2026-11-28T10:00:22.000Z",
            "emitted_at": "2026-11-28T10:00:22.000Z",
            "recorded_at": "2026-12-04T03:45:51.512Z",
            "data": {
              "aud": "https://mail.example.com",
              "cnf": {
                "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
              },
              "exp": 1795863622,
              "iat": 1795860022,
              "jti": "at-91b2",
              "scope": "mail.send",
              "digest": "yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs",
              "grant_type": "authorization_code",
              "token_type": "access"
            },
            "ledger": {
              "seq": 2,
              "checkpoint": {
                "tree_size": 9,
                "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
                "issued_at": "2026-12-04T03:45:51.662000Z"
              },
              "payload_purged": null
            }
          }
        ],
        "revocations": [],
        "tool_calls": [
          {
            "event_id": "evt-example-tool-call-1",
            "source": {
              "id": "fbf10c65-c538-4464-b69a-e695a6be79a1",
              "name": "agent-1"
            },
            "type": "tool_call.recorded",
            "occurred_at": "2026-11-28T10:01:04.000Z",
            "emitted_at": "2026-11-28T10:01:05.000Z",
            "recorded_at": "2026-12-04T03:45:51.522Z",
            "data": {
              "tool": "mail",
              "token": {
                "jti": "at-91b2"
              },
              "action": "send",
              "call_id": "call-0001",
              "outcome": "succeeded",
              "agent_id": "mail-agent",
              "resource": "https://mail.example.com",
              "started_at": "2026-11-28T10:01:04Z",
              "side_effect": {
                "kind": "email",
                "summary": "sent to bob@example.com",
                "reference": "msg-2026-11-28-0001"
              },
              "completed_at": "2026-11-28T10:01:05Z",
              "arguments_digest": "DrXJdmZi35Ev-kSfbHSLfhOspK3YvuRafHtBKWPzpc0"
            },
            "ledger": {
              "seq": 3,
              "checkpoint": {
                "tree_size": 9,
                "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
                "issued_at": "2026-12-04T03:45:51.662000Z"
              },
              "payload_purged": null
            }
          }
        ],
        "timeline": [
          {
            "occurred_at": "2026-11-28T10:00:01.000Z",
            "type": "request_object.verification",
            "event_id": "evt-example-verification-1",
            "source": "as-1",
            "summary": "as-1 accepted the request object (ES256) of client agent-app, delivered by par; jartrail: pending"
          },
          {
            "occurred_at": "2026-11-28T10:00:20.000Z",
            "type": "consent.decision",
            "event_id": "evt-example-consent-1",
            "source": "as-1",
            "summary": "consent approved by subject psn:i8MhubTNCB3I6_0pHvBfd6CTUc_7NwZeMsjEZZqNYMk for scope \"openid mail.send\""
          },
          {
            "occurred_at": "2026-11-28T10:00:20.000Z",
            "type": "consent.decision",
            "event_id": "evt-example-consent-set-1",
            "source": "as-1",
            "summary": "consent approved by subject psn:i8MhubTNCB3I6_0pHvBfd6CTUc_7NwZeMsjEZZqNYMk for scope \"openid mail.send\""
          },
          {
            "occurred_at": "2026-11-28T10:00:22.000Z",
            "type": "token.issued",
            "event_id": "evt-example-token-1",
            "source": "tokens-1",
            "summary": "access token issued (jti at-91b2) by authorization_code, scope \"mail.send\""
          },
          {
            "occurred_at": "2026-11-28T10:01:04.000Z",
            "type": "tool_call.recorded",
            "event_id": "evt-example-tool-call-1",
            "source": "agent-1",
            "summary": "agent mail-agent called mail.send: succeeded, side effect email msg-2026-11-28-0001"
          }
        ],
        "conflicts": [],
        "linking": {
          "linked_below": "11",
          "requested_position": "10",
          "reached": true,
          "chain_complete": true
        },
        "unlinked_records": [],
        "findings": [],
        "findings_evaluation": {
          "up_to_date": true
        }
      }
    }
  },
  "ChainsController_getEvidence": {
    "responses": {
      "200": {
        "kind": "evidence_bundle",
        "format": "jartrail-evidence-bundle/v2",
        "chain": "yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs",
        "exported_at": "2026-12-04T03:45:51.693Z",
        "checkpoint": {
          "kind": "checkpoint",
          "tree_size": 9,
          "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
          "issued_at": "2026-12-04T03:45:51.662000Z",
          "kid": "Kqo8CncLxEnOtgFr1yepoYtHsAaLyxfeLEPimjSSnmU",
          "jws": "eyJhbGciOiJFZERTQSIsImtpZCI6IktxbzhDbmNMeEVuT3RnRnIxeWVwb1l0SHNBYUx5eGZlTEVQaW1qU1NubVUiLCJ0eXAiOiJqYXJ0cmFpbC1jaGVja3BvaW50K2pzb24ifQ.eyJpc3N1ZWRfYXQiOiIyMDI2LTEyLTA0VDAzOjQ1OjUxLjY2MjAwMFoiLCJsb2ciOiJqYXJ0cmFpbCIsInJvb3RfaGFzaCI6Ijd4T1U3VHhGbHBBcE9DaHpRYUVxOVBEWjBPTjdCWFdGdzhvUjlBVUc4WTgiLCJ0cmVlX3NpemUiOjl9.GzAB2NPeFpcnUdkvAs8OZcB3OdK1Kv0Ktm4E4IQkorFqcaju0vs4wdhiWIm9Dgcf_XS_tfBkCGIGUgwOiLi6BA"
        },
        "records": [
          {
            "ledger_seq": 0,
            "leaf": {
              "v": 1,
              "ledger_seq": 0,
              "kind": "event",
              "record_seq": "1",
              "source_id": "0b633643-6047-49b2-9cd0-2979afbeb780",
              "event_id": "evt-example-verification-1",
              "type": "request_object.verification",
              "emitted_at": "2026-11-28T10:00:01.000000Z",
              "occurred_at": "2026-11-28T10:00:01.000000Z",
              "recorded_at": "2026-12-04T03:45:51.451211Z",
              "fingerprint": "RLIpH1MfgwgbtCShYDA3Le7FHW9LKYOk3yOPb-aRrio",
              "payload_hash": "BDnFtGBL9NZGowP8qjmp4wvijaAApBV77WvCANEGro4"
            },
            "payload": {
              "claims": {
                "aud": "https://as.example.com",
                "exp": 1795860300,
                "iat": 1795860000,
                "iss": "agent-app",
                "jti": "ro-7f3c2a",
                "nbf": 1795860000,
                "scope": "openid mail.send",
                "nonce_hash": "CCOgm1TLk4FWEGiwCq9OU5s_VGBGMdPmqCCHm2sEzBk",
                "state_hash": "bOhtX8F73IMjSPeVAqxyTQiEkXHxVyptgiWb4BWYG30",
                "redirect_uri": "https://agent.example.com/cb",
                "response_type": "code"
              },
              "digest": "yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs",
              "header": {
                "alg": "ES256",
                "kid": "agent-app-2026-11",
                "typ": "oauth-authz-req+jwt"
              },
              "issuer": "https://as.example.com",
              "verdict": "accepted",
              "delivery": "par",
              "client_id": "agent-app",
              "request_uri": "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c",
              "request_object": "eyJhbGciOiJFUzI1NiIsImtpZCI6ImFnZW50LWFwcC0yMDI2LTExIiwidHlwIjoib2F1dGgtYXV0aHotcmVxK2p3dCJ9.eyJpc3MiOiJhZ2VudC1hcHAiLCJjbGllbnRfaWQiOiJhZ2VudC1hcHAiLCJhdWQiOiJodHRwczovL2FzLmV4YW1wbGUuY29tIiwicmVzcG9uc2VfdHlwZSI6ImNvZGUiLCJyZWRpcmVjdF91cmkiOiJodHRwczovL2FnZW50LmV4YW1wbGUuY29tL2NiIiwic2NvcGUiOiJvcGVuaWQgbWFpbC5zZW5kIiwic3RhdGUiOiJhZjBpZmpzbGRraiIsIm5vbmNlIjoibi0wUzZfV3pBMk1qIiwianRpIjoicm8tN2YzYzJhIiwiaWF0IjoxNzk1ODYwMDAwLCJuYmYiOjE3OTU4NjAwMDAsImV4cCI6MTc5NTg2MDMwMH0.G64-KWCivZytOYsmwiftJLg508fha9aeQsLhqxi0dFwddpcxhOyoqIW6VX375adL1JLk4B254YKNrlpyhT-Y4A"
            },
            "salt": "-eXyl1gduJF6Z6y7vevh0g",
            "inclusion_proof": [
              "zk5VYhkDiljOwoAabHCuaCBJnZbkVymu72AD4fjMyKE",
              "W2CE4flykkP-bLS0YieN9BNag4cxpmO-BP2xIUXiQ3Y",
              "9kfq8w1UcapdukrVGuU1z_cWBKcTAlUwT06U4ijzj7o",
              "oqD2Zk1StwZTV9mStfRl2G3FH2FWirCuxsxTlghI05I"
            ]
          },
          {
            "ledger_seq": 1,
            "leaf": {
              "v": 1,
              "ledger_seq": 1,
              "kind": "event",
              "record_seq": "3",
              "source_id": "0b633643-6047-49b2-9cd0-2979afbeb780",
              "event_id": "evt-example-consent-1",
              "type": "consent.decision",
              "emitted_at": "2026-11-28T10:00:20.000000Z",
              "occurred_at": "2026-11-28T10:00:20.000000Z",
              "recorded_at": "2026-12-04T03:45:51.493543Z",
              "fingerprint": "L5ekzmGrI4DFKwL2PktxNvifxfj3G5DalW2JkaRRr_E",
              "payload_hash": "ygfU2sJj4jGeHqCVrhTvrZXxiqFq6llA2BGGa2bCf4U"
            },
            "payload": {
              "digest": "yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs",
              "granted": {
                "scope": "openid mail.send"
              },
              "subject": "psn:i8MhubTNCB3I6_0pHvBfd6CTUc_7NwZeMsjEZZqNYMk",
              "decision": "approved"
            },
            "salt": "41CEtUT2VF7WtG_2xk6z8w",
            "inclusion_proof": [
              "lyw9GAtZfVp6aP_xVElmcYA30GTncqs2jxOlCCESuec",
              "W2CE4flykkP-bLS0YieN9BNag4cxpmO-BP2xIUXiQ3Y",
              "9kfq8w1UcapdukrVGuU1z_cWBKcTAlUwT06U4ijzj7o",
              "oqD2Zk1StwZTV9mStfRl2G3FH2FWirCuxsxTlghI05I"
            ]
          },
          {
            "ledger_seq": 2,
            "leaf": {
              "v": 1,
              "ledger_seq": 2,
              "kind": "event",
              "record_seq": "4",
              "source_id": "0404dcb1-b350-4b27-a3b2-bd19de473073",
              "event_id": "evt-example-token-1",
              "type": "token.issued",
              "emitted_at": "2026-11-28T10:00:22.000000Z",
              "occurred_at": "2026-11-28T10:00:22.000000Z",
              "recorded_at": "2026-12-04T03:45:51.512561Z",
              "fingerprint": "Oox08LAlDh3FbcgQwx9Gu6mCHA9eFMhuFwYz8S3KW_I",
              "payload_hash": "drpdXV2-bon17AioihEHpo5lWApIKlMzows_ByhrcdY"
            },
            "payload": {
              "aud": "https://mail.example.com",
              "cnf": {
                "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
              },
              "exp": 1795863622,
              "iat": 1795860022,
              "jti": "at-91b2",
              "scope": "mail.send",
              "digest": "yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs",
              "grant_type": "authorization_code",
              "token_type": "access"
            },
            "salt": "L3IR5Kb2I4F1msbKRTFMqw",
            "inclusion_proof": [
              "QStcxy7uYynw8Y-qdpYM0GeFuX792GpbE2azicbnDeg",
              "n_RPkHCNZuxDARGVKkqLXJz5huHcsSgLb_ppuwIY_O8",
              "9kfq8w1UcapdukrVGuU1z_cWBKcTAlUwT06U4ijzj7o",
              "oqD2Zk1StwZTV9mStfRl2G3FH2FWirCuxsxTlghI05I"
            ]
          },
          {
            "ledger_seq": 3,
            "leaf": {
              "v": 1,
              "ledger_seq": 3,
              "kind": "event",
              "record_seq": "5",
              "source_id": "fbf10c65-c538-4464-b69a-e695a6be79a1",
              "event_id": "evt-example-tool-call-1",
              "type": "tool_call.recorded",
              "emitted_at": "2026-11-28T10:01:05.000000Z",
              "occurred_at": "2026-11-28T10:01:04.000000Z",
              "recorded_at": "2026-12-04T03:45:51.522632Z",
              "fingerprint": "ZKn-c9343R4u7l83qh86K-cNo5x_pOxD6c_A_qYkd7s",
              "payload_hash": "zKdFtRglV4j-zcMDL4ff3uQDvAhFVS5oxrZ56xw16oc"
            },
            "payload": {
              "tool": "mail",
              "token": {
                "jti": "at-91b2"
              },
              "action": "send",
              "call_id": "call-0001",
              "outcome": "succeeded",
              "agent_id": "mail-agent",
              "resource": "https://mail.example.com",
              "started_at": "2026-11-28T10:01:04Z",
              "side_effect": {
                "kind": "email",
                "summary": "sent to bob@example.com",
                "reference": "msg-2026-11-28-0001"
              },
              "completed_at": "2026-11-28T10:01:05Z",
              "arguments_digest": "DrXJdmZi35Ev-kSfbHSLfhOspK3YvuRafHtBKWPzpc0"
            },
            "salt": "y3HIzQZGalhGXWFa3wAZsg",
            "inclusion_proof": [
              "_VlmkIWCAU1PXNlfSoBEo2COB3a2KdP6aLzzqQukhSE",
              "n_RPkHCNZuxDARGVKkqLXJz5huHcsSgLb_ppuwIY_O8",
              "9kfq8w1UcapdukrVGuU1z_cWBKcTAlUwT06U4ijzj7o",
              "oqD2Zk1StwZTV9mStfRl2G3FH2FWirCuxsxTlghI05I"
            ]
          },
          {
            "ledger_seq": 8,
            "leaf": {
              "v": 1,
              "ledger_seq": 8,
              "kind": "event",
              "record_seq": "10",
              "source_id": "0b633643-6047-49b2-9cd0-2979afbeb780",
              "event_id": "evt-example-consent-set-1",
              "type": "consent.decision",
              "emitted_at": "2026-11-28T10:00:20.000000Z",
              "occurred_at": "2026-11-28T10:00:20.000000Z",
              "recorded_at": "2026-12-04T03:45:51.591682Z",
              "fingerprint": "RyM3Z_72i2tF33UOJ9bhORschVFjdbWE-fsSt1yP17g",
              "payload_hash": "betdcNLYBVcMFW49lnj-7G03mw4ZAf-iHhlaAseAsho"
            },
            "payload": {
              "digest": "yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs",
              "granted": {
                "scope": "openid mail.send"
              },
              "subject": "psn:i8MhubTNCB3I6_0pHvBfd6CTUc_7NwZeMsjEZZqNYMk",
              "decision": "approved"
            },
            "salt": "ZihRoEUCMSuU89xLgS1fEQ",
            "inclusion_proof": [
              "DWp6AmmPJHHPxIzXqi3NXwEnXqMQxH1J4QztJUhZE1U"
            ]
          }
        ],
        "conflicts": [],
        "purges": [],
        "pending": [],
        "jwks": {
          "keys": [
            {
              "x": "IG8AafBqqU7V5MZ23ppZVxLUrvDPABcGXM52MU_uaRY",
              "alg": "EdDSA",
              "crv": "Ed25519",
              "kid": "Kqo8CncLxEnOtgFr1yepoYtHsAaLyxfeLEPimjSSnmU",
              "kty": "OKP",
              "use": "sig"
            }
          ]
        }
      }
    }
  },
  "ChainsController_lookup": {
    "responses": {
      "200": {
        "records": [
          {
            "event_id": "evt-example-tool-call-1",
            "source": {
              "id": "fbf10c65-c538-4464-b69a-e695a6be79a1",
              "name": "agent-1"
            },
            "type": "tool_call.recorded",
            "occurred_at": "2026-11-28T10:01:04.000Z",
            "emitted_at": "2026-11-28T10:01:05.000Z",
            "recorded_at": "2026-12-04T03:45:51.522Z",
            "data": {
              "tool": "mail",
              "token": {
                "jti": "at-91b2"
              },
              "action": "send",
              "call_id": "call-0001",
              "outcome": "succeeded",
              "agent_id": "mail-agent",
              "resource": "https://mail.example.com",
              "started_at": "2026-11-28T10:01:04Z",
              "side_effect": {
                "kind": "email",
                "summary": "sent to bob@example.com",
                "reference": "msg-2026-11-28-0001"
              },
              "completed_at": "2026-11-28T10:01:05Z",
              "arguments_digest": "DrXJdmZi35Ev-kSfbHSLfhOspK3YvuRafHtBKWPzpc0"
            },
            "chains": [
              "yBXg3pXbcAS-aHWM1-JosG1tPyTpY6mW4bZPBdtnibs"
            ],
            "linked": true
          }
        ],
        "linking": {
          "linked_below": "11",
          "requested_position": null,
          "reached": true
        }
      }
    }
  },
  "ChainsController_search": {
    "responses": {
      "200": {
        "items": [
          {
            "digest": "0GUezWIL3K9aAZG6VxoeYwC7QuZ2E23dwagBi4OFEbQ",
            "first_recorded_at": "2026-12-04T03:45:51.529Z",
            "client_ids": [
              "agent-app"
            ],
            "issuers": [
              "https://as.example.com"
            ],
            "subjects": [
              "psn:8dNpDuAGWJfP0YjEOpMcygbTAPXkpXgsv9_P_q9Zrq8"
            ],
            "tools": [
              "calendar"
            ],
            "open_findings": {
              "high": 4
            },
            "records": {
              "verifications": 1,
              "consents": 1,
              "tokens": 1,
              "revocations": 0,
              "tool_calls": 1
            }
          }
        ],
        "next_cursor": "WyIyMDI2LTEyLTA0VDAzOjQ1OjUxLjUyOTQzNloiLCIwR1VleldJTDNLOWFBWkc2VnhvZVl3QzdRdVoyRTIzZHdhZ0JpNE9GRWJRIl0",
        "linking": {
          "linked_below": "11",
          "requested_position": null,
          "reached": true
        }
      }
    }
  },
  "LedgerController_latest": {
    "responses": {
      "200": {
        "kind": "checkpoint",
        "tree_size": 9,
        "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
        "issued_at": "2026-12-04T03:45:51.662000Z",
        "kid": "Kqo8CncLxEnOtgFr1yepoYtHsAaLyxfeLEPimjSSnmU",
        "jws": "eyJhbGciOiJFZERTQSIsImtpZCI6IktxbzhDbmNMeEVuT3RnRnIxeWVwb1l0SHNBYUx5eGZlTEVQaW1qU1NubVUiLCJ0eXAiOiJqYXJ0cmFpbC1jaGVja3BvaW50K2pzb24ifQ.eyJpc3N1ZWRfYXQiOiIyMDI2LTEyLTA0VDAzOjQ1OjUxLjY2MjAwMFoiLCJsb2ciOiJqYXJ0cmFpbCIsInJvb3RfaGFzaCI6Ijd4T1U3VHhGbHBBcE9DaHpRYUVxOVBEWjBPTjdCWFdGdzhvUjlBVUc4WTgiLCJ0cmVlX3NpemUiOjl9.GzAB2NPeFpcnUdkvAs8OZcB3OdK1Kv0Ktm4E4IQkorFqcaju0vs4wdhiWIm9Dgcf_XS_tfBkCGIGUgwOiLi6BA"
      }
    }
  },
  "LedgerController_inclusion": {
    "responses": {
      "200": {
        "kind": "inclusion_proof",
        "ledger_seq": 0,
        "tree_size": 9,
        "leaf": {
          "v": 1,
          "ledger_seq": 0,
          "kind": "event",
          "record_seq": "1",
          "source_id": "0b633643-6047-49b2-9cd0-2979afbeb780",
          "event_id": "evt-example-verification-1",
          "type": "request_object.verification",
          "emitted_at": "2026-11-28T10:00:01.000000Z",
          "occurred_at": "2026-11-28T10:00:01.000000Z",
          "recorded_at": "2026-12-04T03:45:51.451211Z",
          "fingerprint": "RLIpH1MfgwgbtCShYDA3Le7FHW9LKYOk3yOPb-aRrio",
          "payload_hash": "BDnFtGBL9NZGowP8qjmp4wvijaAApBV77WvCANEGro4"
        },
        "leaf_hash": "lyw9GAtZfVp6aP_xVElmcYA30GTncqs2jxOlCCESuec",
        "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
        "proof": [
          "zk5VYhkDiljOwoAabHCuaCBJnZbkVymu72AD4fjMyKE",
          "W2CE4flykkP-bLS0YieN9BNag4cxpmO-BP2xIUXiQ3Y",
          "9kfq8w1UcapdukrVGuU1z_cWBKcTAlUwT06U4ijzj7o",
          "oqD2Zk1StwZTV9mStfRl2G3FH2FWirCuxsxTlghI05I"
        ],
        "checkpoint": {
          "kind": "checkpoint",
          "tree_size": 9,
          "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
          "issued_at": "2026-12-04T03:45:51.662000Z",
          "kid": "Kqo8CncLxEnOtgFr1yepoYtHsAaLyxfeLEPimjSSnmU",
          "jws": "eyJhbGciOiJFZERTQSIsImtpZCI6IktxbzhDbmNMeEVuT3RnRnIxeWVwb1l0SHNBYUx5eGZlTEVQaW1qU1NubVUiLCJ0eXAiOiJqYXJ0cmFpbC1jaGVja3BvaW50K2pzb24ifQ.eyJpc3N1ZWRfYXQiOiIyMDI2LTEyLTA0VDAzOjQ1OjUxLjY2MjAwMFoiLCJsb2ciOiJqYXJ0cmFpbCIsInJvb3RfaGFzaCI6Ijd4T1U3VHhGbHBBcE9DaHpRYUVxOVBEWjBPTjdCWFdGdzhvUjlBVUc4WTgiLCJ0cmVlX3NpemUiOjl9.GzAB2NPeFpcnUdkvAs8OZcB3OdK1Kv0Ktm4E4IQkorFqcaju0vs4wdhiWIm9Dgcf_XS_tfBkCGIGUgwOiLi6BA"
        }
      }
    }
  },
  "LedgerController_list": {
    "responses": {
      "200": {
        "items": [
          {
            "kind": "checkpoint",
            "tree_size": 9,
            "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
            "issued_at": "2026-12-04T03:45:51.662000Z",
            "kid": "Kqo8CncLxEnOtgFr1yepoYtHsAaLyxfeLEPimjSSnmU",
            "jws": "eyJhbGciOiJFZERTQSIsImtpZCI6IktxbzhDbmNMeEVuT3RnRnIxeWVwb1l0SHNBYUx5eGZlTEVQaW1qU1NubVUiLCJ0eXAiOiJqYXJ0cmFpbC1jaGVja3BvaW50K2pzb24ifQ.eyJpc3N1ZWRfYXQiOiIyMDI2LTEyLTA0VDAzOjQ1OjUxLjY2MjAwMFoiLCJsb2ciOiJqYXJ0cmFpbCIsInJvb3RfaGFzaCI6Ijd4T1U3VHhGbHBBcE9DaHpRYUVxOVBEWjBPTjdCWFdGdzhvUjlBVUc4WTgiLCJ0cmVlX3NpemUiOjl9.GzAB2NPeFpcnUdkvAs8OZcB3OdK1Kv0Ktm4E4IQkorFqcaju0vs4wdhiWIm9Dgcf_XS_tfBkCGIGUgwOiLi6BA"
          },
          {
            "kind": "checkpoint",
            "tree_size": 7,
            "root_hash": "EN91LFlrnklSdqdN4ILA3A1Ayml845PF-CKSbwW07nA",
            "issued_at": "2026-12-04T03:45:51.568000Z",
            "kid": "Kqo8CncLxEnOtgFr1yepoYtHsAaLyxfeLEPimjSSnmU",
            "jws": "eyJhbGciOiJFZERTQSIsImtpZCI6IktxbzhDbmNMeEVuT3RnRnIxeWVwb1l0SHNBYUx5eGZlTEVQaW1qU1NubVUiLCJ0eXAiOiJqYXJ0cmFpbC1jaGVja3BvaW50K2pzb24ifQ.eyJpc3N1ZWRfYXQiOiIyMDI2LTEyLTA0VDAzOjQ1OjUxLjU2ODAwMFoiLCJsb2ciOiJqYXJ0cmFpbCIsInJvb3RfaGFzaCI6IkVOOTFMRmxybmtsU2RxZE40SUxBM0ExQXltbDg0NVBGLUNLU2J3VzA3bkEiLCJ0cmVlX3NpemUiOjd9.Rslx7t5D28pPJA9F0KqZ9PVsmfqxnDNJgJNnOYuDptjCWdfWXw9wS1sy8daoRNC-x9No9kx4zDHJJJ5Q0K3BCQ"
          }
        ],
        "next_cursor": null
      }
    }
  },
  "LedgerController_consistency": {
    "responses": {
      "200": {
        "kind": "consistency_proof",
        "from": {
          "tree_size": 7,
          "root_hash": "EN91LFlrnklSdqdN4ILA3A1Ayml845PF-CKSbwW07nA",
          "checkpoint": {
            "kind": "checkpoint",
            "tree_size": 7,
            "root_hash": "EN91LFlrnklSdqdN4ILA3A1Ayml845PF-CKSbwW07nA",
            "issued_at": "2026-12-04T03:45:51.568000Z",
            "kid": "Kqo8CncLxEnOtgFr1yepoYtHsAaLyxfeLEPimjSSnmU",
            "jws": "eyJhbGciOiJFZERTQSIsImtpZCI6IktxbzhDbmNMeEVuT3RnRnIxeWVwb1l0SHNBYUx5eGZlTEVQaW1qU1NubVUiLCJ0eXAiOiJqYXJ0cmFpbC1jaGVja3BvaW50K2pzb24ifQ.eyJpc3N1ZWRfYXQiOiIyMDI2LTEyLTA0VDAzOjQ1OjUxLjU2ODAwMFoiLCJsb2ciOiJqYXJ0cmFpbCIsInJvb3RfaGFzaCI6IkVOOTFMRmxybmtsU2RxZE40SUxBM0ExQXltbDg0NVBGLUNLU2J3VzA3bkEiLCJ0cmVlX3NpemUiOjd9.Rslx7t5D28pPJA9F0KqZ9PVsmfqxnDNJgJNnOYuDptjCWdfWXw9wS1sy8daoRNC-x9No9kx4zDHJJJ5Q0K3BCQ"
          }
        },
        "to": {
          "tree_size": 9,
          "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
          "checkpoint": {
            "kind": "checkpoint",
            "tree_size": 9,
            "root_hash": "7xOU7TxFlpApOChzQaEq9PDZ0ON7BXWFw8oR9AUG8Y8",
            "issued_at": "2026-12-04T03:45:51.662000Z",
            "kid": "Kqo8CncLxEnOtgFr1yepoYtHsAaLyxfeLEPimjSSnmU",
            "jws": "eyJhbGciOiJFZERTQSIsImtpZCI6IktxbzhDbmNMeEVuT3RnRnIxeWVwb1l0SHNBYUx5eGZlTEVQaW1qU1NubVUiLCJ0eXAiOiJqYXJ0cmFpbC1jaGVja3BvaW50K2pzb24ifQ.eyJpc3N1ZWRfYXQiOiIyMDI2LTEyLTA0VDAzOjQ1OjUxLjY2MjAwMFoiLCJsb2ciOiJqYXJ0cmFpbCIsInJvb3RfaGFzaCI6Ijd4T1U3VHhGbHBBcE9DaHpRYUVxOVBEWjBPTjdCWFdGdzhvUjlBVUc4WTgiLCJ0cmVlX3NpemUiOjl9.GzAB2NPeFpcnUdkvAs8OZcB3OdK1Kv0Ktm4E4IQkorFqcaju0vs4wdhiWIm9Dgcf_XS_tfBkCGIGUgwOiLi6BA"
          }
        },
        "proof": [
          "QSuXM5gOjh8G7BAW2yUWs0K3gdqL9cGEADig0y27ocs",
          "ZoSR5WkaeJkBgasa-hLLWInGBpRuNkMufLpeeRm4QEE",
          "iNHfu8HvJqbBzQuAD0Eur-z_LjRRF3Nrq59idM_yugU",
          "B-RuSMaL7jMKxF0-QkWOs4krXZ9XMUfDCLgMDBxeKIg",
          "oqD2Zk1StwZTV9mStfRl2G3FH2FWirCuxsxTlghI05I"
        ]
      }
    }
  },
  "LedgerController_verify": {
    "responses": {
      "200": {
        "ok": true,
        "tree_size": 9,
        "checkpoints_checked": 2,
        "pending": 0,
        "unledgered": 0,
        "first_failure": null,
        "failures": []
      }
    }
  },
  "LedgerController_rotate": {
    "responses": {
      "201": {
        "kid": "CVIPBeE0tJc6Pa6FiClylMe_bcrUoA_ZtlH6bF3aymA",
        "alg": "EdDSA"
      }
    }
  },
  "JwksController_jwks": {
    "responses": {
      "200": {
        "keys": [
          {
            "x": "t3BRzQbTgZuvM6GIAz-84JlvDWy4qA7uToJZi67rHx0",
            "alg": "EdDSA",
            "crv": "Ed25519",
            "kid": "CVIPBeE0tJc6Pa6FiClylMe_bcrUoA_ZtlH6bF3aymA",
            "kty": "OKP",
            "use": "sig"
          },
          {
            "x": "IG8AafBqqU7V5MZ23ppZVxLUrvDPABcGXM52MU_uaRY",
            "alg": "EdDSA",
            "crv": "Ed25519",
            "kid": "Kqo8CncLxEnOtgFr1yepoYtHsAaLyxfeLEPimjSSnmU",
            "kty": "OKP",
            "use": "sig"
          }
        ]
      }
    }
  },
  "MasterKeysController_status": {
    "responses": {
      "200": {
        "current_key_id": "odpv_wu1cqyBi3g4",
        "held_key_ids": [
          "odpv_wu1cqyBi3g4"
        ],
        "sealed": [
          {
            "key_id": "odpv_wu1cqyBi3g4",
            "count": 10,
            "held": true
          }
        ]
      }
    }
  },
  "MasterKeysController_rotate": {
    "request": {
      "batch_size": 100
    },
    "responses": {
      "200": {
        "ok": true,
        "from_key_ids": [],
        "to_key_id": "odpv_wu1cqyBi3g4",
        "resealed": {
          "source_secrets": 0,
          "decryption_keys": 0,
          "ledger_signing_key_secrets": 0,
          "service_keys": 0
        },
        "remaining": [],
        "started_at": "2026-12-04T03:45:51.772Z",
        "finished_at": "2026-12-04T03:45:51.778Z"
      }
    }
  },
  "FindingsController_list": {
    "responses": {
      "200": {
        "items": [
          {
            "id": "4",
            "rule": "consent_exceeds_request",
            "severity": "high",
            "status": "open",
            "chain_digest": "0GUezWIL3K9aAZG6VxoeYwC7QuZ2E23dwagBi4OFEbQ",
            "summary": "the consent granted scope \"mail.send\" that the validated request object did not ask for",
            "facts": {
              "excess": {
                "scopes": [
                  "mail.send"
                ],
                "resources": [],
                "authorization_details": []
              },
              "requested": {
                "scope": "openid mail.read"
              }
            },
            "evidence": [
              {
                "kind": "event",
                "event_id": "evt-example-consent-2",
                "type": "consent.decision",
                "ledger_seq": 5
              },
              {
                "kind": "event",
                "event_id": "evt-example-verification-2",
                "type": "request_object.verification",
                "ledger_seq": 4
              }
            ],
            "client_id": "agent-app",
            "issuer": "https://as.example.com",
            "occurred_at": "2026-11-28T10:05:01.000Z",
            "first_seen_at": "2026-12-04T03:45:51.636Z",
            "updated_at": "2026-12-04T03:45:51.636Z",
            "resolved_at": null,
            "resolution": null,
            "triage_status": null
          },
          {
            "id": "3",
            "rule": "token_exceeds_consent",
            "severity": "high",
            "status": "open",
            "chain_digest": "0GUezWIL3K9aAZG6VxoeYwC7QuZ2E23dwagBi4OFEbQ",
            "summary": "token \"at-c4d8\" carries scope \"mail.delete\" beyond what the consent granted",
            "facts": {
              "excess": {
                "scopes": [
                  "mail.delete"
                ],
                "resources": [],
                "authorization_details": []
              },
              "granted": {
                "scope": "openid mail.read mail.send"
              },
              "consent_denied": false
            },
            "evidence": [
              {
                "kind": "event",
                "event_id": "evt-example-token-2",
                "type": "token.issued",
                "ledger_seq": 6
              },
              {
                "kind": "event",
                "event_id": "evt-example-consent-2",
                "type": "consent.decision",
                "ledger_seq": 5
              }
            ],
            "client_id": "agent-app",
            "issuer": "https://as.example.com",
            "occurred_at": "2026-11-28T10:05:20.000Z",
            "first_seen_at": "2026-12-04T03:45:51.636Z",
            "updated_at": "2026-12-04T03:45:51.636Z",
            "resolved_at": null,
            "resolution": null,
            "triage_status": null
          }
        ],
        "next_cursor": "WyIzIl0",
        "linking": {
          "linked_below": "11",
          "requested_position": null,
          "reached": true
        },
        "evaluation": {
          "pending_subjects": 0,
          "oldest_due_seconds": 0
        }
      }
    }
  },
  "FindingsController_triage": {
    "request": {
      "status": "acknowledged",
      "note": "asked the AS why it accepted the request_uri twice"
    },
    "responses": {
      "201": {
        "id": "triage-9f05c02a-33ed-48ba-a43d-98c9a6e34454",
        "status": "acknowledged",
        "note": "asked the AS why it accepted the request_uri twice",
        "triaged_by": {
          "name": "bootstrap-admin",
          "api_key_id": "c7940baa-67b9-4668-948e-63ae97f333a4"
        },
        "recorded_at": "2026-12-04T03:45:51.789Z",
        "ledger_seq": null
      }
    }
  },
  "FindingsController_get": {
    "responses": {
      "200": {
        "id": "4",
        "rule": "consent_exceeds_request",
        "severity": "high",
        "status": "open",
        "chain_digest": "0GUezWIL3K9aAZG6VxoeYwC7QuZ2E23dwagBi4OFEbQ",
        "summary": "the consent granted scope \"mail.send\" that the validated request object did not ask for",
        "facts": {
          "excess": {
            "scopes": [
              "mail.send"
            ],
            "resources": [],
            "authorization_details": []
          },
          "requested": {
            "scope": "openid mail.read"
          }
        },
        "evidence": [
          {
            "kind": "event",
            "event_id": "evt-example-consent-2",
            "type": "consent.decision",
            "ledger_seq": 5
          },
          {
            "kind": "event",
            "event_id": "evt-example-verification-2",
            "type": "request_object.verification",
            "ledger_seq": 4
          }
        ],
        "client_id": "agent-app",
        "issuer": "https://as.example.com",
        "occurred_at": "2026-11-28T10:05:01.000Z",
        "first_seen_at": "2026-12-04T03:45:51.636Z",
        "updated_at": "2026-12-04T03:45:51.636Z",
        "resolved_at": null,
        "resolution": null,
        "triage_status": "acknowledged",
        "triage": [
          {
            "id": "triage-9f05c02a-33ed-48ba-a43d-98c9a6e34454",
            "status": "acknowledged",
            "note": "asked the AS why it accepted the request_uri twice",
            "triaged_by": {
              "name": "bootstrap-admin",
              "api_key_id": "c7940baa-67b9-4668-948e-63ae97f333a4"
            },
            "recorded_at": "2026-12-04T03:45:51.789Z",
            "ledger_seq": null
          }
        ],
        "history": [
          {
            "change": "opened",
            "severity": "high",
            "reason": "the rule fires on the evidence",
            "at": "2026-12-04T03:45:51.636Z"
          }
        ]
      }
    }
  },
  "AccessRecordsController_list": {
    "responses": {
      "200": {
        "items": [
          {
            "seq": "5",
            "at": "2026-12-04T07:19:53.830Z",
            "api_key": null,
            "credential": "refused_jwt",
            "presented_key_fingerprint": "kfp:if2P1bZiURDCwHfc",
            "subject": "alice@example.com",
            "issuer": "http://127.0.0.1:44247",
            "method": "GET",
            "route": "/v1/chains",
            "target": "/v1/chains?limit=10",
            "status": 401,
            "correlation_id": "65b21e15-dbf6-4daf-bff5-e7c891922b54",
            "detail": {
              "token_error": "expired"
            }
          },
          {
            "seq": "4",
            "at": "2026-12-04T07:19:53.819Z",
            "api_key": null,
            "credential": "jwt",
            "presented_key_fingerprint": null,
            "subject": "alice@example.com",
            "issuer": "http://127.0.0.1:44247",
            "method": "GET",
            "route": "/v1/chains/:digest",
            "target": "/v1/chains/W8xwqUtIBEuOTEY6C0EuV3yCdfy62E_ErFE0NhWNeRQ",
            "status": 200,
            "correlation_id": "d8930555-832b-4aa6-b766-d5de49c668aa",
            "detail": null
          },
          {
            "seq": "3",
            "at": "2026-12-04T07:19:53.517Z",
            "api_key": {
              "id": "6a7b2521-62b4-48fe-909e-102edb77066a",
              "name": "bootstrap-admin"
            },
            "credential": "api_key",
            "presented_key_fingerprint": null,
            "subject": null,
            "issuer": null,
            "method": "POST",
            "route": "/v1/sources",
            "target": "/v1/sources",
            "status": 201,
            "correlation_id": "851a61a6-b989-44ca-aa59-2e037cfdb6c6",
            "detail": null
          }
        ],
        "next_cursor": "WyIzIl0"
      }
    }
  },
  "AccessController_me": {
    "responses": {
      "200": {
        "credential": "jwt",
        "api_key": null,
        "subject": "alice@example.com",
        "issuer": "http://127.0.0.1:33265",
        "scopes": [
          "audit:read",
          "audit:export"
        ]
      }
    }
  },
  "AccessController_signInOptions": {
    "responses": {
      "200": {
        "identity_providers": [
          {
            "issuer": "http://127.0.0.1:44247",
            "client_id": "jartrail-console",
            "scope": "openid audit:read audit:export audit:admin audit:triage",
            "resource": "https://jartrail.test/api",
            "authorization_endpoint": "http://127.0.0.1:44247/auth",
            "token_endpoint": "http://127.0.0.1:44247/token",
            "end_session_endpoint": "http://127.0.0.1:44247/session/end"
          }
        ],
        "api_key_sign_in": true
      }
    }
  },
  "SubscriptionsController_create": {
    "request": {
      "url": "https://hooks.example.com/jartrail",
      "min_severity": "high",
      "description": "security on-call"
    },
    "responses": {
      "201": {
        "id": "1",
        "url": "https://hooks.example.com/jartrail",
        "rules": null,
        "min_severity": "high",
        "description": "security on-call",
        "status": "enabled",
        "created_at": "2026-12-04T04:47:08.633Z",
        "secret_rotated_at": null,
        "disabled_at": null,
        "secret": "whsec_b6DEC6VHXLgG5e1wZRrkmleww1dSAj3Z5QvXJU02vE0="
      }
    }
  },
  "SubscriptionsController_list": {
    "responses": {
      "200": {
        "items": [
          {
            "id": "1",
            "url": "https://hooks.example.com/jartrail",
            "rules": null,
            "min_severity": "high",
            "description": "security on-call",
            "status": "enabled",
            "created_at": "2026-12-04T04:47:08.633Z",
            "secret_rotated_at": null,
            "disabled_at": null
          }
        ],
        "next_cursor": null
      }
    }
  },
  "SubscriptionsController_get": {
    "responses": {
      "200": {
        "id": "1",
        "url": "https://hooks.example.com/jartrail",
        "rules": null,
        "min_severity": "high",
        "description": "security on-call",
        "status": "enabled",
        "created_at": "2026-12-04T04:47:08.633Z",
        "secret_rotated_at": null,
        "disabled_at": null,
        "deliveries": {
          "pending": 0,
          "delivered": 1,
          "failed": 0,
          "cancelled": 0
        }
      }
    }
  },
  "SubscriptionsController_disable": {
    "responses": {
      "200": {
        "id": "1",
        "url": "https://hooks.example.com/jartrail",
        "rules": null,
        "min_severity": "high",
        "description": "security on-call",
        "status": "disabled",
        "created_at": "2026-12-04T04:47:08.633Z",
        "secret_rotated_at": "2026-12-04T04:47:08.984Z",
        "disabled_at": "2026-12-04T04:47:09.006Z"
      }
    }
  },
  "SubscriptionsController_rotateSecret": {
    "responses": {
      "201": {
        "id": "1",
        "url": "https://hooks.example.com/jartrail",
        "rules": null,
        "min_severity": "high",
        "description": "security on-call",
        "status": "enabled",
        "created_at": "2026-12-04T04:47:08.633Z",
        "secret_rotated_at": "2026-12-04T04:47:08.984Z",
        "disabled_at": null,
        "secret": "whsec_ikcFNIxF7NgWrDkF3azqiEjxuZxbKMReewygRTJNTh8="
      }
    }
  },
  "SubscriptionsController_deliveries": {
    "responses": {
      "200": {
        "items": [
          {
            "id": "1",
            "message_id": "msg_finding_change_1",
            "type": "finding.opened",
            "finding_id": "1",
            "finding_change_id": "1",
            "status": "delivered",
            "attempt_count": 2,
            "next_attempt_at": null,
            "created_at": "2026-12-04T04:47:08.756Z",
            "finished_at": "2026-12-04T04:47:08.876Z",
            "attempts": [
              {
                "attempt": 1,
                "at": "2026-12-04T04:47:08.783Z",
                "duration_ms": 19,
                "outcome": "http_status",
                "status_code": 503,
                "error": null,
                "response_excerpt": "upstream unavailable upstream unavailable upstream unavailable upstream unavailable upstream unavailable upstream unavailable upstream unavailable upstream unavailable upstream unavailable upstream unavailable upstream unavailable upstream unavailable upst"
              },
              {
                "attempt": 2,
                "at": "2026-12-04T04:47:08.866Z",
                "duration_ms": 6,
                "outcome": "delivered",
                "status_code": 204,
                "error": null,
                "response_excerpt": null
              }
            ]
          }
        ],
        "next_cursor": null
      }
    }
  },
  "ExportsController_create": {
    "request": {
      "format": "csv",
      "scope": {
        "client_id": "agent-app"
      }
    },
    "responses": {
      "202": {
        "id": "7e80c562-064e-447a-ba1b-9e5ce5b15551",
        "format": "csv",
        "scope": {
          "client_id": "agent-app"
        },
        "proofs": false,
        "status": "queued",
        "progress": {
          "records_done": 0,
          "records_total": null,
          "bytes": 0,
          "percent": null,
          "eta_seconds": null
        },
        "checkpoint_tree_size": null,
        "sha256": null,
        "error": null,
        "attempts": 0,
        "created_at": "2026-12-04T05:14:31.941Z",
        "started_at": null,
        "finished_at": null,
        "expires_at": null,
        "download": null
      }
    }
  },
  "ExportsController_list": {
    "responses": {
      "200": {
        "items": [
          {
            "id": "c13c5f6d-9946-438c-8155-1465b55593be",
            "format": "ndjson",
            "scope": {},
            "proofs": true,
            "status": "queued",
            "progress": {
              "records_done": 0,
              "records_total": null,
              "bytes": 0,
              "percent": null,
              "eta_seconds": null
            },
            "checkpoint_tree_size": null,
            "sha256": null,
            "error": null,
            "attempts": 0,
            "created_at": "2026-12-04T05:14:32.036Z",
            "started_at": null,
            "finished_at": null,
            "expires_at": null,
            "download": null
          },
          {
            "id": "7e80c562-064e-447a-ba1b-9e5ce5b15551",
            "format": "csv",
            "scope": {
              "client_id": "agent-app"
            },
            "proofs": false,
            "status": "completed",
            "progress": {
              "records_done": 4,
              "records_total": 4,
              "bytes": 2629,
              "percent": 100,
              "eta_seconds": 0
            },
            "checkpoint_tree_size": 4,
            "sha256": "74b51e47d3d06f92d5c81694f7b9c5b204f8fc2a833a843f0b0e87d58a050532",
            "error": null,
            "attempts": 1,
            "created_at": "2026-12-04T05:14:31.941Z",
            "started_at": "2026-12-04T05:14:31.953Z",
            "finished_at": "2026-12-04T05:14:31.997Z",
            "expires_at": "2026-12-07T05:14:31.997Z",
            "download": "/v1/exports/7e80c562-064e-447a-ba1b-9e5ce5b15551/download"
          }
        ],
        "next_cursor": null
      }
    }
  },
  "ExportsController_get": {
    "responses": {
      "200": {
        "id": "7e80c562-064e-447a-ba1b-9e5ce5b15551",
        "format": "csv",
        "scope": {
          "client_id": "agent-app"
        },
        "proofs": false,
        "status": "completed",
        "progress": {
          "records_done": 4,
          "records_total": 4,
          "bytes": 2629,
          "percent": 100,
          "eta_seconds": 0
        },
        "checkpoint_tree_size": 4,
        "sha256": "74b51e47d3d06f92d5c81694f7b9c5b204f8fc2a833a843f0b0e87d58a050532",
        "error": null,
        "attempts": 1,
        "created_at": "2026-12-04T05:14:31.941Z",
        "started_at": "2026-12-04T05:14:31.953Z",
        "finished_at": "2026-12-04T05:14:31.997Z",
        "expires_at": "2026-12-07T05:14:31.997Z",
        "download": "/v1/exports/7e80c562-064e-447a-ba1b-9e5ce5b15551/download"
      }
    }
  },
  "ExportsController_cancel": {
    "responses": {
      "200": {
        "id": "c13c5f6d-9946-438c-8155-1465b55593be",
        "format": "ndjson",
        "scope": {},
        "proofs": true,
        "status": "cancelled",
        "progress": {
          "records_done": 0,
          "records_total": null,
          "bytes": 0,
          "percent": null,
          "eta_seconds": null
        },
        "checkpoint_tree_size": null,
        "sha256": null,
        "error": null,
        "attempts": 0,
        "created_at": "2026-12-04T05:14:32.036Z",
        "started_at": null,
        "finished_at": "2026-12-04T05:14:32.047Z",
        "expires_at": "2026-12-07T05:14:32.047Z",
        "download": null
      }
    }
  },
  "ExportsController_remove": {
    "responses": {
      "200": {
        "id": "8a7daf44-c4e8-49e7-a95d-f247cee5df06",
        "format": "ndjson",
        "scope": {},
        "proofs": false,
        "status": "cancelled",
        "progress": {
          "records_done": 0,
          "records_total": null,
          "bytes": 0,
          "percent": null,
          "eta_seconds": null
        },
        "checkpoint_tree_size": null,
        "sha256": null,
        "error": null,
        "attempts": 0,
        "created_at": "2026-12-04T05:14:32.054Z",
        "started_at": null,
        "finished_at": "2026-12-04T05:14:32.087Z",
        "expires_at": "2026-12-07T05:14:32.087Z",
        "download": null
      }
    }
  },
  "ExportsController_manifest": {
    "responses": {
      "200": {
        "kind": "export_manifest",
        "jws": "eyJhbGciOiJFZERTQSIsImtpZCI6ImN2YnllZ0lLc3ltWmpWZ3pINnpOZ0N3UUJ3bUFlUVBMOExRWDZnQk5KT2ciLCJ0eXAiOiJqYXJ0cmFpbC1leHBvcnQtbWFuaWZlc3QranNvbiJ9.eyJieXRlcyI6MjYyOSwiY2hlY2twb2ludCI6eyJpc3N1ZWRfYXQiOiIyMDI2LTEyLTA0VDA1OjE0OjMxLjk3NzAwMFoiLCJqd3MiOiJleUpoYkdjaU9pSkZaRVJUUVNJc0ltdHBaQ0k2SW1OMllubGxaMGxMYzNsdFdtcFdaM3BJTm5wT1owTjNVVUozYlVGbFVWQk1PRXhSV0RablFrNUtUMmNpTENKMGVYQWlPaUpxWVhKMGNtRnBiQzFqYUdWamEzQnZhVzUwSzJwemIyNGlmUS5leUpwYzNOMVpXUmZZWFFpT2lJeU1ESTJMVEV5TFRBMFZEQTFPakUwT2pNeExqazNOekF3TUZvaUxDSnNiMmNpT2lKcVlYSjBjbUZwYkNJc0luSnZiM1JmYUdGemFDSTZJa3A1VlRodWJXOWlTVE0yZUhNNVRsZGxXbk5CTFZGalpIcFpVM2hTZFZSeFpFdGlORUZpV1VSaVZ6UWlMQ0owY21WbFgzTnBlbVVpT2pSOS5RcThpVU9rank5aEJtNTFJWGQzcDVpeWVUWTJyUTVKRjlwRU1aTVYxa1NjakFMZzREcGVQeVNUSm50MXdRbVJfUEpRckN0NkRyM0ZoeVU4Zy00SzlCZyIsImtpZCI6ImN2YnllZ0lLc3ltWmpWZ3pINnpOZ0N3UUJ3bUFlUVBMOExRWDZnQk5KT2ciLCJraW5kIjoiY2hlY2twb2ludCIsInJvb3RfaGFzaCI6Ikp5VThubW9iSTM2eHM5TldlWnNBLVFjZHpZU3hSdVRxZEtiNEFiWURiVzQiLCJ0cmVlX3NpemUiOjR9LCJjcmVhdGVkX2F0IjoiMjAyNi0xMi0wNFQwNToxNDozMS45OTZaIiwiZXhwb3J0X2lkIjoiN2U4MGM1NjItMDY0ZS00NDdhLWJhMWItOWU1Y2U1YjE1NTUxIiwiZmlsZV9mb3JtYXQiOiJjc3YiLCJmb3JtYXQiOiJqYXJ0cmFpbC1leHBvcnQtbWFuaWZlc3QvdjEiLCJraW5kIjoiZXhwb3J0X21hbmlmZXN0IiwibGVkZ2VyX3NlcXMiOltbMCwzXV0sImxvZyI6ImphcnRyYWlsIiwicHJvb2ZzIjpmYWxzZSwicXVlcnkiOnsiY2xpZW50X2lkIjoiYWdlbnQtYXBwIn0sInJlY29yZHMiOjQsInNoYTI1NiI6Ijc0YjUxZTQ3ZDNkMDZmOTJkNWM4MTY5NGY3YjljNWIyMDRmOGZjMmE4MzNhODQzZjBiMGU4N2Q1OGEwNTA1MzIifQ.im8E9J2ZRD422agNKS9Lt_8kr1Cm1trwDA2VOdrqFnCFbNIPrQ5J26__Gyawhmopeaeb7Y9xdrfS5DkAgL4CBQ",
        "manifest": {
          "bytes": 2629,
          "checkpoint": {
            "issued_at": "2026-12-04T05:14:31.977000Z",
            "jws": "eyJhbGciOiJFZERTQSIsImtpZCI6ImN2YnllZ0lLc3ltWmpWZ3pINnpOZ0N3UUJ3bUFlUVBMOExRWDZnQk5KT2ciLCJ0eXAiOiJqYXJ0cmFpbC1jaGVja3BvaW50K2pzb24ifQ.eyJpc3N1ZWRfYXQiOiIyMDI2LTEyLTA0VDA1OjE0OjMxLjk3NzAwMFoiLCJsb2ciOiJqYXJ0cmFpbCIsInJvb3RfaGFzaCI6Ikp5VThubW9iSTM2eHM5TldlWnNBLVFjZHpZU3hSdVRxZEtiNEFiWURiVzQiLCJ0cmVlX3NpemUiOjR9.Qq8iUOkjy9hBm51IXd3p5iyeTY2rQ5JF9pEMZMV1kScjALg4DpePySTJnt1wQmR_PJQrCt6Dr3FhyU8g-4K9Bg",
            "kid": "cvbyegIKsymZjVgzH6zNgCwQBwmAeQPL8LQX6gBNJOg",
            "kind": "checkpoint",
            "root_hash": "JyU8nmobI36xs9NWeZsA-QcdzYSxRuTqdKb4AbYDbW4",
            "tree_size": 4
          },
          "created_at": "2026-12-04T05:14:31.996Z",
          "export_id": "7e80c562-064e-447a-ba1b-9e5ce5b15551",
          "file_format": "csv",
          "format": "jartrail-export-manifest/v1",
          "kind": "export_manifest",
          "ledger_seqs": [
            [
              0,
              3
            ]
          ],
          "log": "jartrail",
          "proofs": false,
          "query": {
            "client_id": "agent-app"
          },
          "records": 4,
          "sha256": "74b51e47d3d06f92d5c81694f7b9c5b204f8fc2a833a843f0b0e87d58a050532"
        },
        "jwks": {
          "keys": [
            {
              "x": "9jD8NmMPJXIX2RikOpGvAf5kXxntD8ZvTCV-a14dIc0",
              "alg": "EdDSA",
              "crv": "Ed25519",
              "kid": "cvbyegIKsymZjVgzH6zNgCwQBwmAeQPL8LQX6gBNJOg",
              "kty": "OKP",
              "use": "sig"
            }
          ]
        }
      }
    }
  }
};
