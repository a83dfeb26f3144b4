
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'wemixvisor' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'wemixvisor'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'wemixvisor' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a home: layout, genesis binary, `current` link and configuration')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run the node in the foreground and upgrade it at the planned heights')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the supervisor and the node in the background; returns once the node runs and its RPC answers')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the node gracefully, then the background supervisor')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Restart the node from the current configuration files (the supervisor keeps running)')
            [CompletionResult]::new('reload', 'reload', [CompletionResultType]::ParameterValue, 'Make the running supervisor re-read wemixvisor.toml and node-options.toml: reload-safe keys apply at once, the others are listed as pending (also on SIGHUP)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show supervisor, node, chain, health and upgrade state')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print the node log''s tail')
            [CompletionResult]::new('daemon', 'daemon', [CompletionResultType]::ParameterValue, 'The background supervisor itself (started by `start`)')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show, change and check the configuration')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Snapshots of the chain data: create, list, verify, restore, prune')
            [CompletionResult]::new('governance', 'governance', [CompletionResultType]::ParameterValue, 'On-chain governance (GovNCP proposals) and consensus monitoring')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Every mutating action (by a local user, an API token or the supervisor itself) from state/audit.log, oldest first')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print version information')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('upgrade', 'upgrade', [CompletionResultType]::ParameterValue, 'Upgrades: add, plan a batch, status, cancel, rollback')
            [CompletionResult]::new('alerts', 'alerts', [CompletionResultType]::ParameterValue, 'Alerts: send a test alert to every configured sink')
            [CompletionResult]::new('__generate', '__generate', [CompletionResultType]::ParameterValue, 'Write completions, man pages and the systemd unit into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;init' {
            [CompletionResult]::new('--binary', '--binary', [CompletionResultType]::ParameterName, 'The node binary to install as genesis')
            [CompletionResult]::new('--systemd', '--systemd', [CompletionResultType]::ParameterName, 'Then print or install a systemd unit for this home')
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Re-initialise an existing home (configuration, genesis binary and `current`; chain data, upgrades and backups are kept)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;run' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;start' {
            [CompletionResult]::new('--node-options', '--node-options', [CompletionResultType]::ParameterName, 'Node options (one shell-quoted string), between node-options.toml and the arguments after `--`')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the node''s RPC')
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;stop' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for both to end')
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Do not wait for the quorum guard (governance.quorum_guard)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;restart' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Do not wait for the quorum guard (governance.quorum_guard)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;reload' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;status' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'As JSON (shape in docs/status.md)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;logs' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Lines of tail to print first')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'Lines of tail to print first')
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Follow new lines, across rotations')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Follow new lines, across rotations')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;daemon' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;config' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the effective configuration and where each value came from (default, file, env, flag)')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set one key (dotted, e.g. restart.backoff_max) in wemixvisor.toml, keeping comments; an invalid value changes nothing')
            [CompletionResult]::new('reset', 'reset', [CompletionResultType]::ParameterValue, 'Put one key, or every key, back to the template value for the file''s network (the built-in default when none is set)')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check wemixvisor.toml, the environment and node-options.toml; report every problem. Exit code 2 when invalid')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Rewrite an older wemixvisor.toml in the current schema (the old file is kept beside it)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;config;show' {
            [CompletionResult]::new('--template', '--template', [CompletionResultType]::ParameterName, 'Print the template for a network (mainnet, testnet, devnet) instead')
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of TOML')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;config;set' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;config;reset' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;config;validate' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;config;migrate' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;config;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the effective configuration and where each value came from (default, file, env, flag)')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set one key (dotted, e.g. restart.backoff_max) in wemixvisor.toml, keeping comments; an invalid value changes nothing')
            [CompletionResult]::new('reset', 'reset', [CompletionResultType]::ParameterValue, 'Put one key, or every key, back to the template value for the file''s network (the built-in default when none is set)')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check wemixvisor.toml, the environment and node-options.toml; report every problem. Exit code 2 when invalid')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Rewrite an older wemixvisor.toml in the current schema (the old file is kept beside it)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;config;help;show' {
            break
        }
        'wemixvisor;config;help;set' {
            break
        }
        'wemixvisor;config;help;reset' {
            break
        }
        'wemixvisor;config;help;validate' {
            break
        }
        'wemixvisor;config;help;migrate' {
            break
        }
        'wemixvisor;config;help;help' {
            break
        }
        'wemixvisor;backup' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Take a snapshot of chain-data now (incremental to the newest one)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List snapshots: kind, age, logical size, disk space held, state')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash a snapshot against its manifest and report every difference')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Replace chain-data with a snapshot (the node must be stopped; the old data is kept as chain-data.pre-restore-<time>)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Apply retention: keep the newest automatic snapshots and young ones')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;backup;create' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--archive', '--archive', [CompletionResultType]::ParameterName, 'Also write <id>.tar.zst (and its .sha256) for off-host copies')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;backup;list' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;backup;verify' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;backup;restore' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;backup;prune' {
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Snapshots to keep per kind [default: config backup.keep_auto]')
            [CompletionResult]::new('--max-age', '--max-age', [CompletionResultType]::ParameterName, 'Keep anything younger than this, e.g. 7d [default: config backup.max_age]')
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--manual', '--manual', [CompletionResultType]::ParameterName, 'Apply retention to manual snapshots too')
            [CompletionResult]::new('--pre-restore', '--pre-restore', [CompletionResultType]::ParameterName, 'Also remove chain-data.pre-restore-* copies left by restores')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be removed, remove nothing')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;backup;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Take a snapshot of chain-data now (incremental to the newest one)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List snapshots: kind, age, logical size, disk space held, state')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash a snapshot against its manifest and report every difference')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Replace chain-data with a snapshot (the node must be stopped; the old data is kept as chain-data.pre-restore-<time>)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Apply retention: keep the newest automatic snapshots and young ones')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;backup;help;create' {
            break
        }
        'wemixvisor;backup;help;list' {
            break
        }
        'wemixvisor;backup;help;verify' {
            break
        }
        'wemixvisor;backup;help;restore' {
            break
        }
        'wemixvisor;backup;help;prune' {
            break
        }
        'wemixvisor;backup;help;help' {
            break
        }
        'wemixvisor;governance' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('proposals', 'proposals', [CompletionResultType]::ParameterValue, 'List GovNCP proposals, rebuilt from the contract''s events (kept in governance/proposals.json, so later runs read only new blocks)')
            [CompletionResult]::new('monitor', 'monitor', [CompletionResultType]::ParameterValue, 'Print governance, consensus and fork changes as they happen, one line each, until Ctrl-C')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;governance;proposals' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;governance;monitor' {
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between polls of the node, e.g. 2s')
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;governance;help' {
            [CompletionResult]::new('proposals', 'proposals', [CompletionResultType]::ParameterValue, 'List GovNCP proposals, rebuilt from the contract''s events (kept in governance/proposals.json, so later runs read only new blocks)')
            [CompletionResult]::new('monitor', 'monitor', [CompletionResultType]::ParameterValue, 'Print governance, consensus and fork changes as they happen, one line each, until Ctrl-C')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;governance;help;proposals' {
            break
        }
        'wemixvisor;governance;help;monitor' {
            break
        }
        'wemixvisor;governance;help;help' {
            break
        }
        'wemixvisor;audit' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only entries since then: a duration back from now (2h, 7d) or a time (2026-01-02T03:04:05Z)')
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;version' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'As JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;completions' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;upgrade' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Install an upgrade''s binary now (from a file, or downloaded and verified from a URL) and, with --height, queue it. Without --height it is used when upgrade-info.json names it')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Queue a batch of upgrades from a JSON file: a list of {"name", "height", "info"?}, unique names, strictly increasing heights, all above the current head. All or nothing; exit 2 with every problem listed')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the queue (with preparation state), the current binary and the last upgrade with its outcome')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Re-arm an upgrade that failed before its switch (state retry): it is prepared again and applied when due')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Remove a pending upgrade (or one waiting for a retry) from the queue (through the running supervisor, or offline under the home lock)')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Point `current` back at the binary before the last upgrade (with no supervisor running)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;upgrade;add' {
            [CompletionResult]::new('--binary', '--binary', [CompletionResultType]::ParameterName, 'The new node binary')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Where to download the new binary (or an archive holding bin/<name> or <name>)')
            [CompletionResult]::new('--height', '--height', [CompletionResultType]::ParameterName, 'Height at which to switch; must be above the current head')
            [CompletionResult]::new('--checksum', '--checksum', [CompletionResultType]::ParameterName, 'Expected checksum of the file or download')
            [CompletionResult]::new('--migrate', '--migrate', [CompletionResultType]::ParameterName, 'A migration command (info.migrate), run with /bin/sh -c with the node stopped, after the pre-upgrade snapshot; repeat for several, in order')
            [CompletionResult]::new('--migrate-timeout', '--migrate-timeout', [CompletionResultType]::ParameterName, 'Time limit of each migration command (info.migrate[].timeout), e.g. 12h')
            [CompletionResult]::new('--on-failure', '--on-failure', [CompletionResultType]::ParameterName, 'What an interrupted migration leads to when it is not idempotent: restore the data and start over, or fail (info.migrate[].on_failure)')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'A check run after the migration, before the new binary starts (info.verify); repeat for several')
            [CompletionResult]::new('--verify-timeout', '--verify-timeout', [CompletionResultType]::ParameterName, 'Time limit of each check (info.verify[].timeout)')
            [CompletionResult]::new('--daemon-name', '--daemon-name', [CompletionResultType]::ParameterName, 'The new release''s binary name, e.g. geth after gwemix (info.daemon_name)')
            [CompletionResult]::new('--node-option-add', '--node-option-add', [CompletionResultType]::ParameterName, 'Arguments added for the new release, split on spaces, e.g. "--db.engine leveldb" (info.node_options.add); repeatable')
            [CompletionResult]::new('--node-option-remove', '--node-option-remove', [CompletionResultType]::ParameterName, 'A flag removed for the new release, with its value (info.node_options.remove); repeatable')
            [CompletionResult]::new('--node-option-rename', '--node-option-rename', [CompletionResultType]::ParameterName, 'A flag renamed for the new release, value kept (info.node_options.rename); repeatable')
            [CompletionResult]::new('--new-datadir', '--new-datadir', [CompletionResultType]::ParameterName, 'The new datadir the migration writes (info.node_options.datadir; absolute or relative to the home; must not exist yet)')
            [CompletionResult]::new('--space', '--space', [CompletionResultType]::ParameterName, 'Free space the migration needs besides the snapshot: bytes, or "datadir" for a full copy (info.space)')
            [CompletionResult]::new('--builtin', '--builtin', [CompletionResultType]::ParameterName, 'A built-in move instead of --migrate: gwemix-to-wbft (info.builtin)')
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--idempotent', '--idempotent', [CompletionResultType]::ParameterName, 'Running the migration commands again after an interruption is safe (info.migrate[].idempotent)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;upgrade;plan' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;upgrade;status' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'As JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;upgrade;retry' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;upgrade;cancel' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;upgrade;rollback' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('--restore-data', '--restore-data', [CompletionResultType]::ParameterName, 'Also restore the chain data snapshot taken before that upgrade')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Do not wait for the quorum guard (governance.quorum_guard)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;upgrade;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Install an upgrade''s binary now (from a file, or downloaded and verified from a URL) and, with --height, queue it. Without --height it is used when upgrade-info.json names it')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Queue a batch of upgrades from a JSON file: a list of {"name", "height", "info"?}, unique names, strictly increasing heights, all above the current head. All or nothing; exit 2 with every problem listed')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the queue (with preparation state), the current binary and the last upgrade with its outcome')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Re-arm an upgrade that failed before its switch (state retry): it is prepared again and applied when due')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Remove a pending upgrade (or one waiting for a retry) from the queue (through the running supervisor, or offline under the home lock)')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Point `current` back at the binary before the last upgrade (with no supervisor running)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;upgrade;help;add' {
            break
        }
        'wemixvisor;upgrade;help;plan' {
            break
        }
        'wemixvisor;upgrade;help;status' {
            break
        }
        'wemixvisor;upgrade;help;retry' {
            break
        }
        'wemixvisor;upgrade;help;cancel' {
            break
        }
        'wemixvisor;upgrade;help;rollback' {
            break
        }
        'wemixvisor;upgrade;help;help' {
            break
        }
        'wemixvisor;alerts' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Send a test alert to every sink in [alerts] and report each result (exit 1 if any fails)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;alerts;test' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;alerts;help' {
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Send a test alert to every sink in [alerts] and report each result (exit 1 if any fails)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;alerts;help;test' {
            break
        }
        'wemixvisor;alerts;help;help' {
            break
        }
        'wemixvisor;__generate' {
            [CompletionResult]::new('--home', '--home', [CompletionResultType]::ParameterName, 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'wemixvisor;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a home: layout, genesis binary, `current` link and configuration')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run the node in the foreground and upgrade it at the planned heights')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the supervisor and the node in the background; returns once the node runs and its RPC answers')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the node gracefully, then the background supervisor')
            [CompletionResult]::new('restart', 'restart', [CompletionResultType]::ParameterValue, 'Restart the node from the current configuration files (the supervisor keeps running)')
            [CompletionResult]::new('reload', 'reload', [CompletionResultType]::ParameterValue, 'Make the running supervisor re-read wemixvisor.toml and node-options.toml: reload-safe keys apply at once, the others are listed as pending (also on SIGHUP)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show supervisor, node, chain, health and upgrade state')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print the node log''s tail')
            [CompletionResult]::new('daemon', 'daemon', [CompletionResultType]::ParameterValue, 'The background supervisor itself (started by `start`)')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show, change and check the configuration')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Snapshots of the chain data: create, list, verify, restore, prune')
            [CompletionResult]::new('governance', 'governance', [CompletionResultType]::ParameterValue, 'On-chain governance (GovNCP proposals) and consensus monitoring')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Every mutating action (by a local user, an API token or the supervisor itself) from state/audit.log, oldest first')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print version information')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('upgrade', 'upgrade', [CompletionResultType]::ParameterValue, 'Upgrades: add, plan a batch, status, cancel, rollback')
            [CompletionResult]::new('alerts', 'alerts', [CompletionResultType]::ParameterValue, 'Alerts: send a test alert to every configured sink')
            [CompletionResult]::new('__generate', '__generate', [CompletionResultType]::ParameterValue, 'Write completions, man pages and the systemd unit into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wemixvisor;help;init' {
            break
        }
        'wemixvisor;help;run' {
            break
        }
        'wemixvisor;help;start' {
            break
        }
        'wemixvisor;help;stop' {
            break
        }
        'wemixvisor;help;restart' {
            break
        }
        'wemixvisor;help;reload' {
            break
        }
        'wemixvisor;help;status' {
            break
        }
        'wemixvisor;help;logs' {
            break
        }
        'wemixvisor;help;daemon' {
            break
        }
        'wemixvisor;help;config' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the effective configuration and where each value came from (default, file, env, flag)')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set one key (dotted, e.g. restart.backoff_max) in wemixvisor.toml, keeping comments; an invalid value changes nothing')
            [CompletionResult]::new('reset', 'reset', [CompletionResultType]::ParameterValue, 'Put one key, or every key, back to the template value for the file''s network (the built-in default when none is set)')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check wemixvisor.toml, the environment and node-options.toml; report every problem. Exit code 2 when invalid')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Rewrite an older wemixvisor.toml in the current schema (the old file is kept beside it)')
            break
        }
        'wemixvisor;help;config;show' {
            break
        }
        'wemixvisor;help;config;set' {
            break
        }
        'wemixvisor;help;config;reset' {
            break
        }
        'wemixvisor;help;config;validate' {
            break
        }
        'wemixvisor;help;config;migrate' {
            break
        }
        'wemixvisor;help;backup' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Take a snapshot of chain-data now (incremental to the newest one)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List snapshots: kind, age, logical size, disk space held, state')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash a snapshot against its manifest and report every difference')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Replace chain-data with a snapshot (the node must be stopped; the old data is kept as chain-data.pre-restore-<time>)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Apply retention: keep the newest automatic snapshots and young ones')
            break
        }
        'wemixvisor;help;backup;create' {
            break
        }
        'wemixvisor;help;backup;list' {
            break
        }
        'wemixvisor;help;backup;verify' {
            break
        }
        'wemixvisor;help;backup;restore' {
            break
        }
        'wemixvisor;help;backup;prune' {
            break
        }
        'wemixvisor;help;governance' {
            [CompletionResult]::new('proposals', 'proposals', [CompletionResultType]::ParameterValue, 'List GovNCP proposals, rebuilt from the contract''s events (kept in governance/proposals.json, so later runs read only new blocks)')
            [CompletionResult]::new('monitor', 'monitor', [CompletionResultType]::ParameterValue, 'Print governance, consensus and fork changes as they happen, one line each, until Ctrl-C')
            break
        }
        'wemixvisor;help;governance;proposals' {
            break
        }
        'wemixvisor;help;governance;monitor' {
            break
        }
        'wemixvisor;help;audit' {
            break
        }
        'wemixvisor;help;version' {
            break
        }
        'wemixvisor;help;completions' {
            break
        }
        'wemixvisor;help;upgrade' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Install an upgrade''s binary now (from a file, or downloaded and verified from a URL) and, with --height, queue it. Without --height it is used when upgrade-info.json names it')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Queue a batch of upgrades from a JSON file: a list of {"name", "height", "info"?}, unique names, strictly increasing heights, all above the current head. All or nothing; exit 2 with every problem listed')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the queue (with preparation state), the current binary and the last upgrade with its outcome')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Re-arm an upgrade that failed before its switch (state retry): it is prepared again and applied when due')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Remove a pending upgrade (or one waiting for a retry) from the queue (through the running supervisor, or offline under the home lock)')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Point `current` back at the binary before the last upgrade (with no supervisor running)')
            break
        }
        'wemixvisor;help;upgrade;add' {
            break
        }
        'wemixvisor;help;upgrade;plan' {
            break
        }
        'wemixvisor;help;upgrade;status' {
            break
        }
        'wemixvisor;help;upgrade;retry' {
            break
        }
        'wemixvisor;help;upgrade;cancel' {
            break
        }
        'wemixvisor;help;upgrade;rollback' {
            break
        }
        'wemixvisor;help;alerts' {
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Send a test alert to every sink in [alerts] and report each result (exit 1 if any fails)')
            break
        }
        'wemixvisor;help;alerts;test' {
            break
        }
        'wemixvisor;help;__generate' {
            break
        }
        'wemixvisor;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
