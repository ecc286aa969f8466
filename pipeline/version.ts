/** The tool's identity as written into manifests (a test keeps it equal to package.json). */
export const TOOL = { name: "whp", version: "0.1.0" } as const;
