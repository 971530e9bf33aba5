// The hardened systemd unit of `chatbot host serve`, as `chatbot host setup` writes it and the
// README shows it (a test holds the two equal; each line's reason is in the README's table).
/** Where the unit's paths point. */
export interface UnitPlaces {
  user: string;
  /** The node binary. */
  node: string;
  /** lib/host/cli/main.js of the installed package. */
  cli: string;
  dataDir: string;
  /** The LMTP socket's folder. */
  socketDir: string;
  /** The folder of the transport table the host keeps. */
  routesDir: string;
  /** The deploy door's folder ("-": a host set up by hand without the door may lack it). */
  deployDir: string;
}

/** The unit file's text. */
export function systemdUnit(places: UnitPlaces): string {
  return `[Unit]
Description=chatbot host (Delta Chat bots, one sandboxed event per mail)
After=postfix.service dovecot.service

[Service]
User=${places.user}
Environment=NODE_ENV=production
ExecStart=${places.node} ${places.cli} host serve --data-dir ${places.dataDir}
Restart=always
RestartSec=5
# kill -9 at any point loses nothing (see "What the service guarantees"), so a plain stop is safe too.
KillSignal=SIGTERM
TimeoutStopSec=30
# Hardening: each line's reason is in the table below.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${places.dataDir} ${places.socketDir} ${places.routesDir} -${places.deployDir}
PrivateTmp=yes
ProtectHome=yes
PrivateDevices=yes
ProtectKernelModules=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=user mnt net pid ipc uts
RestrictSUIDSGID=yes
LockPersonality=yes
UMask=0077
MemoryMax=2G
TasksMax=512
Delegate=yes

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The two units that make Postfix see a changed routes table at once: a path unit watching the
 * table's .db (postmap rewrites it at every install and removal) starts a oneshot `postfix
 * reload`. Without them a rebuilt table is seen by new Postfix processes at once, but the queue
 * manager's address resolver keeps the old one while its connection is busy (measured on the
 * test relay: a removed bot's route lasted 25 s to over 60 s; Postfix closes that connection after
 * 5 s idle, at most after ipc_ttl, 1000 s). The host itself never reloads Postfix: it is not root.
 */
export function routesReloadUnits(routesDir: string, postfix = "/usr/sbin/postfix"): { path: string; service: string } {
  return {
    path: `[Unit]
Description=Reload Postfix when the chatbot host rewrites its routes table

[Path]
PathChanged=${routesDir}/transport.db
Unit=chatbot-routes.service

[Install]
WantedBy=multi-user.target
`,
    service: `[Unit]
Description=Reload Postfix for the chatbot host's new routes

[Service]
Type=oneshot
ExecStart=${postfix} reload
`,
  };
}
