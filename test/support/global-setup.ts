import type { TestProject } from "vitest/node";
import { startThrowawayPostgres } from "../../tools/throwaway-postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** Use DATABASE_URL when given; otherwise start a throwaway server for this run and stop it after. */
export default async function setup(project: TestProject) {
  const given = process.env.DATABASE_URL;
  if (given !== undefined && given !== "") {
    project.provide("databaseUrl", given);
    return;
  }
  const server = await startThrowawayPostgres();
  project.provide("databaseUrl", server.url);
  return () => server.stop();
}
