
use builtin;
use str;

set edit:completion:arg-completer[wemixvisor] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'wemixvisor'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'wemixvisor'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Create a home: layout, genesis binary, `current` link and configuration'
            cand run 'Run the node in the foreground and upgrade it at the planned heights'
            cand start 'Start the supervisor and the node in the background; returns once the node runs and its RPC answers'
            cand stop 'Stop the node gracefully, then the background supervisor'
            cand restart 'Restart the node from the current configuration files (the supervisor keeps running)'
            cand reload 'Make the running supervisor re-read wemixvisor.toml and node-options.toml: reload-safe keys apply at once, the others are listed as pending (also on SIGHUP)'
            cand status 'Show supervisor, node, chain, health and upgrade state'
            cand logs 'Print the node log''s tail'
            cand daemon 'The background supervisor itself (started by `start`)'
            cand config 'Show, change and check the configuration'
            cand backup 'Snapshots of the chain data: create, list, verify, restore, prune'
            cand governance 'On-chain governance (GovNCP proposals) and consensus monitoring'
            cand audit 'Every mutating action (by a local user, an API token or the supervisor itself) from state/audit.log, oldest first'
            cand version 'Print version information'
            cand completions 'Print a shell completion script'
            cand upgrade 'Upgrades: add, plan a batch, status, cancel, rollback'
            cand alerts 'Alerts: send a test alert to every configured sink'
            cand __generate 'Write completions, man pages and the systemd unit into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;init'= {
            cand --binary 'The node binary to install as genesis'
            cand --systemd 'Then print or install a systemd unit for this home'
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --force 'Re-initialise an existing home (configuration, genesis binary and `current`; chain data, upgrades and backups are kept)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;run'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;start'= {
            cand --node-options 'Node options (one shell-quoted string), between node-options.toml and the arguments after `--`'
            cand --timeout 'How long to wait for the node''s RPC'
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;stop'= {
            cand --timeout 'How long to wait for both to end'
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --force 'Do not wait for the quorum guard (governance.quorum_guard)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;restart'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --force 'Do not wait for the quorum guard (governance.quorum_guard)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;reload'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;status'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --json 'As JSON (shape in docs/status.md)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;logs'= {
            cand -n 'Lines of tail to print first'
            cand --lines 'Lines of tail to print first'
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -f 'Follow new lines, across rotations'
            cand --follow 'Follow new lines, across rotations'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;daemon'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;config'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand show 'Print the effective configuration and where each value came from (default, file, env, flag)'
            cand set 'Set one key (dotted, e.g. restart.backoff_max) in wemixvisor.toml, keeping comments; an invalid value changes nothing'
            cand reset 'Put one key, or every key, back to the template value for the file''s network (the built-in default when none is set)'
            cand validate 'Check wemixvisor.toml, the environment and node-options.toml; report every problem. Exit code 2 when invalid'
            cand migrate 'Rewrite an older wemixvisor.toml in the current schema (the old file is kept beside it)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;config;show'= {
            cand --template 'Print the template for a network (mainnet, testnet, devnet) instead'
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --json 'Print JSON instead of TOML'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;config;set'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;config;reset'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;config;validate'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --json 'Print the report as JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;config;migrate'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;config;help'= {
            cand show 'Print the effective configuration and where each value came from (default, file, env, flag)'
            cand set 'Set one key (dotted, e.g. restart.backoff_max) in wemixvisor.toml, keeping comments; an invalid value changes nothing'
            cand reset 'Put one key, or every key, back to the template value for the file''s network (the built-in default when none is set)'
            cand validate 'Check wemixvisor.toml, the environment and node-options.toml; report every problem. Exit code 2 when invalid'
            cand migrate 'Rewrite an older wemixvisor.toml in the current schema (the old file is kept beside it)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;config;help;show'= {
        }
        &'wemixvisor;config;help;set'= {
        }
        &'wemixvisor;config;help;reset'= {
        }
        &'wemixvisor;config;help;validate'= {
        }
        &'wemixvisor;config;help;migrate'= {
        }
        &'wemixvisor;config;help;help'= {
        }
        &'wemixvisor;backup'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Take a snapshot of chain-data now (incremental to the newest one)'
            cand list 'List snapshots: kind, age, logical size, disk space held, state'
            cand verify 'Re-hash a snapshot against its manifest and report every difference'
            cand restore 'Replace chain-data with a snapshot (the node must be stopped; the old data is kept as chain-data.pre-restore-<time>)'
            cand prune 'Apply retention: keep the newest automatic snapshots and young ones'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;backup;create'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --archive 'Also write <id>.tar.zst (and its .sha256) for off-host copies'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;backup;list'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --json 'Print JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;backup;verify'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --json 'Print JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;backup;restore'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;backup;prune'= {
            cand --keep 'Snapshots to keep per kind [default: config backup.keep_auto]'
            cand --max-age 'Keep anything younger than this, e.g. 7d [default: config backup.max_age]'
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --manual 'Apply retention to manual snapshots too'
            cand --pre-restore 'Also remove chain-data.pre-restore-* copies left by restores'
            cand --dry-run 'Show what would be removed, remove nothing'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;backup;help'= {
            cand create 'Take a snapshot of chain-data now (incremental to the newest one)'
            cand list 'List snapshots: kind, age, logical size, disk space held, state'
            cand verify 'Re-hash a snapshot against its manifest and report every difference'
            cand restore 'Replace chain-data with a snapshot (the node must be stopped; the old data is kept as chain-data.pre-restore-<time>)'
            cand prune 'Apply retention: keep the newest automatic snapshots and young ones'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;backup;help;create'= {
        }
        &'wemixvisor;backup;help;list'= {
        }
        &'wemixvisor;backup;help;verify'= {
        }
        &'wemixvisor;backup;help;restore'= {
        }
        &'wemixvisor;backup;help;prune'= {
        }
        &'wemixvisor;backup;help;help'= {
        }
        &'wemixvisor;governance'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand proposals 'List GovNCP proposals, rebuilt from the contract''s events (kept in governance/proposals.json, so later runs read only new blocks)'
            cand monitor 'Print governance, consensus and fork changes as they happen, one line each, until Ctrl-C'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;governance;proposals'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --json 'Print JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;governance;monitor'= {
            cand --interval 'Time between polls of the node, e.g. 2s'
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --json 'One JSON object per line'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;governance;help'= {
            cand proposals 'List GovNCP proposals, rebuilt from the contract''s events (kept in governance/proposals.json, so later runs read only new blocks)'
            cand monitor 'Print governance, consensus and fork changes as they happen, one line each, until Ctrl-C'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;governance;help;proposals'= {
        }
        &'wemixvisor;governance;help;monitor'= {
        }
        &'wemixvisor;governance;help;help'= {
        }
        &'wemixvisor;audit'= {
            cand --since 'Only entries since then: a duration back from now (2h, 7d) or a time (2026-01-02T03:04:05Z)'
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --json 'One JSON object per line'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;version'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --json 'As JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;completions'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;upgrade'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add 'Install an upgrade''s binary now (from a file, or downloaded and verified from a URL) and, with --height, queue it. Without --height it is used when upgrade-info.json names it'
            cand plan 'Queue a batch of upgrades from a JSON file: a list of {"name", "height", "info"?}, unique names, strictly increasing heights, all above the current head. All or nothing; exit 2 with every problem listed'
            cand status 'Show the queue (with preparation state), the current binary and the last upgrade with its outcome'
            cand retry 'Re-arm an upgrade that failed before its switch (state retry): it is prepared again and applied when due'
            cand cancel 'Remove a pending upgrade (or one waiting for a retry) from the queue (through the running supervisor, or offline under the home lock)'
            cand rollback 'Point `current` back at the binary before the last upgrade (with no supervisor running)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;upgrade;add'= {
            cand --binary 'The new node binary'
            cand --url 'Where to download the new binary (or an archive holding bin/<name> or <name>)'
            cand --height 'Height at which to switch; must be above the current head'
            cand --checksum 'Expected checksum of the file or download'
            cand --migrate 'A migration command (info.migrate), run with /bin/sh -c with the node stopped, after the pre-upgrade snapshot; repeat for several, in order'
            cand --migrate-timeout 'Time limit of each migration command (info.migrate[].timeout), e.g. 12h'
            cand --on-failure 'What an interrupted migration leads to when it is not idempotent: restore the data and start over, or fail (info.migrate[].on_failure)'
            cand --verify 'A check run after the migration, before the new binary starts (info.verify); repeat for several'
            cand --verify-timeout 'Time limit of each check (info.verify[].timeout)'
            cand --daemon-name 'The new release''s binary name, e.g. geth after gwemix (info.daemon_name)'
            cand --node-option-add 'Arguments added for the new release, split on spaces, e.g. "--db.engine leveldb" (info.node_options.add); repeatable'
            cand --node-option-remove 'A flag removed for the new release, with its value (info.node_options.remove); repeatable'
            cand --node-option-rename 'A flag renamed for the new release, value kept (info.node_options.rename); repeatable'
            cand --new-datadir 'The new datadir the migration writes (info.node_options.datadir; absolute or relative to the home; must not exist yet)'
            cand --space 'Free space the migration needs besides the snapshot: bytes, or "datadir" for a full copy (info.space)'
            cand --builtin 'A built-in move instead of --migrate: gwemix-to-wbft (info.builtin)'
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --idempotent 'Running the migration commands again after an interruption is safe (info.migrate[].idempotent)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;upgrade;plan'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;upgrade;status'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --json 'As JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;upgrade;retry'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;upgrade;cancel'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;upgrade;rollback'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand --restore-data 'Also restore the chain data snapshot taken before that upgrade'
            cand --force 'Do not wait for the quorum guard (governance.quorum_guard)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;upgrade;help'= {
            cand add 'Install an upgrade''s binary now (from a file, or downloaded and verified from a URL) and, with --height, queue it. Without --height it is used when upgrade-info.json names it'
            cand plan 'Queue a batch of upgrades from a JSON file: a list of {"name", "height", "info"?}, unique names, strictly increasing heights, all above the current head. All or nothing; exit 2 with every problem listed'
            cand status 'Show the queue (with preparation state), the current binary and the last upgrade with its outcome'
            cand retry 'Re-arm an upgrade that failed before its switch (state retry): it is prepared again and applied when due'
            cand cancel 'Remove a pending upgrade (or one waiting for a retry) from the queue (through the running supervisor, or offline under the home lock)'
            cand rollback 'Point `current` back at the binary before the last upgrade (with no supervisor running)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;upgrade;help;add'= {
        }
        &'wemixvisor;upgrade;help;plan'= {
        }
        &'wemixvisor;upgrade;help;status'= {
        }
        &'wemixvisor;upgrade;help;retry'= {
        }
        &'wemixvisor;upgrade;help;cancel'= {
        }
        &'wemixvisor;upgrade;help;rollback'= {
        }
        &'wemixvisor;upgrade;help;help'= {
        }
        &'wemixvisor;alerts'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand test 'Send a test alert to every sink in [alerts] and report each result (exit 1 if any fails)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;alerts;test'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;alerts;help'= {
            cand test 'Send a test alert to every sink in [alerts] and report each result (exit 1 if any fails)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;alerts;help;test'= {
        }
        &'wemixvisor;alerts;help;help'= {
        }
        &'wemixvisor;__generate'= {
            cand --home 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]'
            cand --name 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]'
            cand --log-format 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'wemixvisor;help'= {
            cand init 'Create a home: layout, genesis binary, `current` link and configuration'
            cand run 'Run the node in the foreground and upgrade it at the planned heights'
            cand start 'Start the supervisor and the node in the background; returns once the node runs and its RPC answers'
            cand stop 'Stop the node gracefully, then the background supervisor'
            cand restart 'Restart the node from the current configuration files (the supervisor keeps running)'
            cand reload 'Make the running supervisor re-read wemixvisor.toml and node-options.toml: reload-safe keys apply at once, the others are listed as pending (also on SIGHUP)'
            cand status 'Show supervisor, node, chain, health and upgrade state'
            cand logs 'Print the node log''s tail'
            cand daemon 'The background supervisor itself (started by `start`)'
            cand config 'Show, change and check the configuration'
            cand backup 'Snapshots of the chain data: create, list, verify, restore, prune'
            cand governance 'On-chain governance (GovNCP proposals) and consensus monitoring'
            cand audit 'Every mutating action (by a local user, an API token or the supervisor itself) from state/audit.log, oldest first'
            cand version 'Print version information'
            cand completions 'Print a shell completion script'
            cand upgrade 'Upgrades: add, plan a batch, status, cancel, rollback'
            cand alerts 'Alerts: send a test alert to every configured sink'
            cand __generate 'Write completions, man pages and the systemd unit into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wemixvisor;help;init'= {
        }
        &'wemixvisor;help;run'= {
        }
        &'wemixvisor;help;start'= {
        }
        &'wemixvisor;help;stop'= {
        }
        &'wemixvisor;help;restart'= {
        }
        &'wemixvisor;help;reload'= {
        }
        &'wemixvisor;help;status'= {
        }
        &'wemixvisor;help;logs'= {
        }
        &'wemixvisor;help;daemon'= {
        }
        &'wemixvisor;help;config'= {
            cand show 'Print the effective configuration and where each value came from (default, file, env, flag)'
            cand set 'Set one key (dotted, e.g. restart.backoff_max) in wemixvisor.toml, keeping comments; an invalid value changes nothing'
            cand reset 'Put one key, or every key, back to the template value for the file''s network (the built-in default when none is set)'
            cand validate 'Check wemixvisor.toml, the environment and node-options.toml; report every problem. Exit code 2 when invalid'
            cand migrate 'Rewrite an older wemixvisor.toml in the current schema (the old file is kept beside it)'
        }
        &'wemixvisor;help;config;show'= {
        }
        &'wemixvisor;help;config;set'= {
        }
        &'wemixvisor;help;config;reset'= {
        }
        &'wemixvisor;help;config;validate'= {
        }
        &'wemixvisor;help;config;migrate'= {
        }
        &'wemixvisor;help;backup'= {
            cand create 'Take a snapshot of chain-data now (incremental to the newest one)'
            cand list 'List snapshots: kind, age, logical size, disk space held, state'
            cand verify 'Re-hash a snapshot against its manifest and report every difference'
            cand restore 'Replace chain-data with a snapshot (the node must be stopped; the old data is kept as chain-data.pre-restore-<time>)'
            cand prune 'Apply retention: keep the newest automatic snapshots and young ones'
        }
        &'wemixvisor;help;backup;create'= {
        }
        &'wemixvisor;help;backup;list'= {
        }
        &'wemixvisor;help;backup;verify'= {
        }
        &'wemixvisor;help;backup;restore'= {
        }
        &'wemixvisor;help;backup;prune'= {
        }
        &'wemixvisor;help;governance'= {
            cand proposals 'List GovNCP proposals, rebuilt from the contract''s events (kept in governance/proposals.json, so later runs read only new blocks)'
            cand monitor 'Print governance, consensus and fork changes as they happen, one line each, until Ctrl-C'
        }
        &'wemixvisor;help;governance;proposals'= {
        }
        &'wemixvisor;help;governance;monitor'= {
        }
        &'wemixvisor;help;audit'= {
        }
        &'wemixvisor;help;version'= {
        }
        &'wemixvisor;help;completions'= {
        }
        &'wemixvisor;help;upgrade'= {
            cand add 'Install an upgrade''s binary now (from a file, or downloaded and verified from a URL) and, with --height, queue it. Without --height it is used when upgrade-info.json names it'
            cand plan 'Queue a batch of upgrades from a JSON file: a list of {"name", "height", "info"?}, unique names, strictly increasing heights, all above the current head. All or nothing; exit 2 with every problem listed'
            cand status 'Show the queue (with preparation state), the current binary and the last upgrade with its outcome'
            cand retry 'Re-arm an upgrade that failed before its switch (state retry): it is prepared again and applied when due'
            cand cancel 'Remove a pending upgrade (or one waiting for a retry) from the queue (through the running supervisor, or offline under the home lock)'
            cand rollback 'Point `current` back at the binary before the last upgrade (with no supervisor running)'
        }
        &'wemixvisor;help;upgrade;add'= {
        }
        &'wemixvisor;help;upgrade;plan'= {
        }
        &'wemixvisor;help;upgrade;status'= {
        }
        &'wemixvisor;help;upgrade;retry'= {
        }
        &'wemixvisor;help;upgrade;cancel'= {
        }
        &'wemixvisor;help;upgrade;rollback'= {
        }
        &'wemixvisor;help;alerts'= {
            cand test 'Send a test alert to every sink in [alerts] and report each result (exit 1 if any fails)'
        }
        &'wemixvisor;help;alerts;test'= {
        }
        &'wemixvisor;help;__generate'= {
        }
        &'wemixvisor;help;help'= {
        }
    ]
    $completions[$command]
}
