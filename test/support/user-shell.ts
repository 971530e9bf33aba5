// The environment of a new user's shell, for tests that run npm and the CLI as that user would:
// none of this test run's variables (vitest's, the npm that started it), no colours or npm chatter.

/** process.env without the test run's variables, plus `extra`. */
export function userShellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(VITEST|VITE_|npm_|NODE_ENV$|NODE_OPTIONS$|TEST$|FORCE_COLOR$)/.test(key)));
  return { ...env, NO_COLOR: "1", npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", ...extra };
}
