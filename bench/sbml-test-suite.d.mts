/** One SBML Test Suite case run through importSbml and the f64 solver (see sbml-test-suite.mjs). */
export function runCase(caseDir: string, id: string): Promise<{ outcome: "pass" | "fail" | "refused" | "skipped"; why?: string }>;
