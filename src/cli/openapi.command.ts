import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { buildOpenApiDocument } from '../app';
import { AppModule, type AppRuntime } from '../app.module';
import { Keyring } from '../common/crypto/keyring';
import { loadConfig } from '../config/app-config';
import { type CliIo, EXIT, type ExitCode, formatJson } from './cli-io';

export interface OpenApiCommand {
  readonly file: string;
}

/**
 * The document the service serves at /openapi.json, built without a database: Nest's preview mode reads the
 * module graph and the route metadata but instantiates no provider, so TypeORM never connects. The defaults
 * stand in for the configuration, and a throwaway key for the keyring, so that the committed document does not
 * depend on the environment of whoever generates it.
 */
export async function offlineOpenApiDocument(): Promise<OpenAPIObject> {
  const runtime: AppRuntime = {
    config: loadConfig({}),
    keyring: new Keyring(randomBytes(32)),
    databaseUrl: 'postgres://openapi-preview.invalid/none',
  };
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(runtime), new FastifyAdapter(), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

/** `jartrail openapi FILE`: pretty JSON with a trailing newline, as committed and checked for drift. */
export async function writeOpenApi(command: OpenApiCommand, io: CliIo): Promise<ExitCode> {
  const document = await offlineOpenApiDocument();
  await mkdir(dirname(command.file), { recursive: true });
  await writeFile(command.file, formatJson(document));
  io.err(`jartrail: wrote ${command.file} (${Object.keys(document.paths).length} paths)\n`);
  return EXIT.ok;
}
