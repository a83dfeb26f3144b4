# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_wemixvisor_global_optspecs
    string join \n home= name= log-format= h/help V/version
end

function __fish_wemixvisor_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_wemixvisor_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_wemixvisor_using_subcommand
    set -l cmd (__fish_wemixvisor_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "init" -d 'Create a home: layout, genesis binary, `current` link and configuration'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "run" -d 'Run the node in the foreground and upgrade it at the planned heights'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "start" -d 'Start the supervisor and the node in the background; returns once the node runs and its RPC answers'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "stop" -d 'Stop the node gracefully, then the background supervisor'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "restart" -d 'Restart the node from the current configuration files (the supervisor keeps running)'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "reload" -d 'Make the running supervisor re-read wemixvisor.toml and node-options.toml: reload-safe keys apply at once, the others are listed as pending (also on SIGHUP)'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "status" -d 'Show supervisor, node, chain, health and upgrade state'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "logs" -d 'Print the node log\'s tail'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "daemon" -d 'The background supervisor itself (started by `start`)'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "config" -d 'Show, change and check the configuration'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "backup" -d 'Snapshots of the chain data: create, list, verify, restore, prune'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "governance" -d 'On-chain governance (GovNCP proposals) and consensus monitoring'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "audit" -d 'Every mutating action (by a local user, an API token or the supervisor itself) from state/audit.log, oldest first'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "version" -d 'Print version information'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "upgrade" -d 'Upgrades: add, plan a batch, status, cancel, rollback'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "alerts" -d 'Alerts: send a test alert to every configured sink'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "__generate" -d 'Write completions, man pages and the systemd unit into a directory'
complete -c wemixvisor -n "__fish_wemixvisor_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand init" -l binary -d 'The node binary to install as genesis' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand init" -l systemd -d 'Then print or install a systemd unit for this home' -r -f -a "print\t'Print the unit on standard output'
install\t'Write it to /etc/systemd/system/wemixvisor.service'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand init" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand init" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand init" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand init" -l force -d 'Re-initialise an existing home (configuration, genesis binary and `current`; chain data, upgrades and backups are kept)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand init" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand run" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand run" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand run" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand run" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand start" -l node-options -d 'Node options (one shell-quoted string), between node-options.toml and the arguments after `--`' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand start" -l timeout -d 'How long to wait for the node\'s RPC' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand start" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand start" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand start" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand start" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand start" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand stop" -l timeout -d 'How long to wait for both to end' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand stop" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand stop" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand stop" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand stop" -l force -d 'Do not wait for the quorum guard (governance.quorum_guard)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand stop" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand stop" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand restart" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand restart" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand restart" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand restart" -l force -d 'Do not wait for the quorum guard (governance.quorum_guard)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand restart" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand restart" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand reload" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand reload" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand reload" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand reload" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand reload" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand status" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand status" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand status" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand status" -l json -d 'As JSON (shape in docs/status.md)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand status" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand logs" -s n -l lines -d 'Lines of tail to print first' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand logs" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand logs" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand logs" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand logs" -s f -l follow -d 'Follow new lines, across rotations'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand logs" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand logs" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand daemon" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand daemon" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand daemon" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand daemon" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand daemon" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and not __fish_seen_subcommand_from show set reset validate migrate help" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and not __fish_seen_subcommand_from show set reset validate migrate help" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and not __fish_seen_subcommand_from show set reset validate migrate help" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and not __fish_seen_subcommand_from show set reset validate migrate help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and not __fish_seen_subcommand_from show set reset validate migrate help" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and not __fish_seen_subcommand_from show set reset validate migrate help" -f -a "show" -d 'Print the effective configuration and where each value came from (default, file, env, flag)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and not __fish_seen_subcommand_from show set reset validate migrate help" -f -a "set" -d 'Set one key (dotted, e.g. restart.backoff_max) in wemixvisor.toml, keeping comments; an invalid value changes nothing'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and not __fish_seen_subcommand_from show set reset validate migrate help" -f -a "reset" -d 'Put one key, or every key, back to the template value for the file\'s network (the built-in default when none is set)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and not __fish_seen_subcommand_from show set reset validate migrate help" -f -a "validate" -d 'Check wemixvisor.toml, the environment and node-options.toml; report every problem. Exit code 2 when invalid'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and not __fish_seen_subcommand_from show set reset validate migrate help" -f -a "migrate" -d 'Rewrite an older wemixvisor.toml in the current schema (the old file is kept beside it)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and not __fish_seen_subcommand_from show set reset validate migrate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from show" -l template -d 'Print the template for a network (mainnet, testnet, devnet) instead' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from show" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from show" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from show" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from show" -l json -d 'Print JSON instead of TOML'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from set" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from set" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from set" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from reset" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from reset" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from reset" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from reset" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from validate" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from validate" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from validate" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from validate" -l json -d 'Print the report as JSON'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from validate" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from migrate" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from migrate" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from migrate" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from migrate" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the effective configuration and where each value came from (default, file, env, flag)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set one key (dotted, e.g. restart.backoff_max) in wemixvisor.toml, keeping comments; an invalid value changes nothing'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "reset" -d 'Put one key, or every key, back to the template value for the file\'s network (the built-in default when none is set)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "validate" -d 'Check wemixvisor.toml, the environment and node-options.toml; report every problem. Exit code 2 when invalid'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "migrate" -d 'Rewrite an older wemixvisor.toml in the current schema (the old file is kept beside it)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and not __fish_seen_subcommand_from create list verify restore prune help" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and not __fish_seen_subcommand_from create list verify restore prune help" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and not __fish_seen_subcommand_from create list verify restore prune help" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and not __fish_seen_subcommand_from create list verify restore prune help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and not __fish_seen_subcommand_from create list verify restore prune help" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and not __fish_seen_subcommand_from create list verify restore prune help" -f -a "create" -d 'Take a snapshot of chain-data now (incremental to the newest one)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and not __fish_seen_subcommand_from create list verify restore prune help" -f -a "list" -d 'List snapshots: kind, age, logical size, disk space held, state'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and not __fish_seen_subcommand_from create list verify restore prune help" -f -a "verify" -d 'Re-hash a snapshot against its manifest and report every difference'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and not __fish_seen_subcommand_from create list verify restore prune help" -f -a "restore" -d 'Replace chain-data with a snapshot (the node must be stopped; the old data is kept as chain-data.pre-restore-<time>)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and not __fish_seen_subcommand_from create list verify restore prune help" -f -a "prune" -d 'Apply retention: keep the newest automatic snapshots and young ones'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and not __fish_seen_subcommand_from create list verify restore prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from create" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from create" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from create" -l archive -d 'Also write <id>.tar.zst (and its .sha256) for off-host copies'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from list" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from list" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from list" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from verify" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from verify" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from verify" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from verify" -l json -d 'Print JSON'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from restore" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from restore" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from restore" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from restore" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep -d 'Snapshots to keep per kind [default: config backup.keep_auto]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from prune" -l max-age -d 'Keep anything younger than this, e.g. 7d [default: config backup.max_age]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from prune" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from prune" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from prune" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from prune" -l manual -d 'Apply retention to manual snapshots too'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from prune" -l pre-restore -d 'Also remove chain-data.pre-restore-* copies left by restores'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from prune" -l dry-run -d 'Show what would be removed, remove nothing'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "create" -d 'Take a snapshot of chain-data now (incremental to the newest one)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "list" -d 'List snapshots: kind, age, logical size, disk space held, state'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Re-hash a snapshot against its manifest and report every difference'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "restore" -d 'Replace chain-data with a snapshot (the node must be stopped; the old data is kept as chain-data.pre-restore-<time>)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Apply retention: keep the newest automatic snapshots and young ones'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and not __fish_seen_subcommand_from proposals monitor help" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and not __fish_seen_subcommand_from proposals monitor help" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and not __fish_seen_subcommand_from proposals monitor help" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and not __fish_seen_subcommand_from proposals monitor help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and not __fish_seen_subcommand_from proposals monitor help" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and not __fish_seen_subcommand_from proposals monitor help" -f -a "proposals" -d 'List GovNCP proposals, rebuilt from the contract\'s events (kept in governance/proposals.json, so later runs read only new blocks)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and not __fish_seen_subcommand_from proposals monitor help" -f -a "monitor" -d 'Print governance, consensus and fork changes as they happen, one line each, until Ctrl-C'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and not __fish_seen_subcommand_from proposals monitor help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from proposals" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from proposals" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from proposals" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from proposals" -l json -d 'Print JSON'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from proposals" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from proposals" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from monitor" -l interval -d 'Time between polls of the node, e.g. 2s' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from monitor" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from monitor" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from monitor" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from monitor" -l json -d 'One JSON object per line'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from monitor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from monitor" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from help" -f -a "proposals" -d 'List GovNCP proposals, rebuilt from the contract\'s events (kept in governance/proposals.json, so later runs read only new blocks)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from help" -f -a "monitor" -d 'Print governance, consensus and fork changes as they happen, one line each, until Ctrl-C'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand governance; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand audit" -l since -d 'Only entries since then: a duration back from now (2h, 7d) or a time (2026-01-02T03:04:05Z)' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand audit" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand audit" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand audit" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand audit" -l json -d 'One JSON object per line'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand audit" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand version" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand version" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand version" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand version" -l json -d 'As JSON'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand version" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand version" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand completions" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand completions" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand completions" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand completions" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -f -a "add" -d 'Install an upgrade\'s binary now (from a file, or downloaded and verified from a URL) and, with --height, queue it. Without --height it is used when upgrade-info.json names it'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -f -a "plan" -d 'Queue a batch of upgrades from a JSON file: a list of {"name", "height", "info"?}, unique names, strictly increasing heights, all above the current head. All or nothing; exit 2 with every problem listed'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -f -a "status" -d 'Show the queue (with preparation state), the current binary and the last upgrade with its outcome'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -f -a "retry" -d 'Re-arm an upgrade that failed before its switch (state retry): it is prepared again and applied when due'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -f -a "cancel" -d 'Remove a pending upgrade (or one waiting for a retry) from the queue (through the running supervisor, or offline under the home lock)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -f -a "rollback" -d 'Point `current` back at the binary before the last upgrade (with no supervisor running)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and not __fish_seen_subcommand_from add plan status retry cancel rollback help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l binary -d 'The new node binary' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l url -d 'Where to download the new binary (or an archive holding bin/<name> or <name>)' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l height -d 'Height at which to switch; must be above the current head' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l checksum -d 'Expected checksum of the file or download' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l migrate -d 'A migration command (info.migrate), run with /bin/sh -c with the node stopped, after the pre-upgrade snapshot; repeat for several, in order' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l migrate-timeout -d 'Time limit of each migration command (info.migrate[].timeout), e.g. 12h' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l on-failure -d 'What an interrupted migration leads to when it is not idempotent: restore the data and start over, or fail (info.migrate[].on_failure)' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l verify -d 'A check run after the migration, before the new binary starts (info.verify); repeat for several' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l verify-timeout -d 'Time limit of each check (info.verify[].timeout)' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l daemon-name -d 'The new release\'s binary name, e.g. geth after gwemix (info.daemon_name)' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l node-option-add -d 'Arguments added for the new release, split on spaces, e.g. "--db.engine leveldb" (info.node_options.add); repeatable' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l node-option-remove -d 'A flag removed for the new release, with its value (info.node_options.remove); repeatable' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l node-option-rename -d 'A flag renamed for the new release, value kept (info.node_options.rename); repeatable' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l new-datadir -d 'The new datadir the migration writes (info.node_options.datadir; absolute or relative to the home; must not exist yet)' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l space -d 'Free space the migration needs besides the snapshot: bytes, or "datadir" for a full copy (info.space)' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l builtin -d 'A built-in move instead of --migrate: gwemix-to-wbft (info.builtin)' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -l idempotent -d 'Running the migration commands again after an interruption is safe (info.migrate[].idempotent)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from plan" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from plan" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from plan" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from plan" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from status" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from status" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from status" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from status" -l json -d 'As JSON'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from retry" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from retry" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from retry" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from retry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from retry" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from cancel" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from cancel" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from cancel" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from cancel" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from cancel" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from rollback" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from rollback" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from rollback" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from rollback" -l restore-data -d 'Also restore the chain data snapshot taken before that upgrade'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from rollback" -l force -d 'Do not wait for the quorum guard (governance.quorum_guard)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from rollback" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from rollback" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from help" -f -a "add" -d 'Install an upgrade\'s binary now (from a file, or downloaded and verified from a URL) and, with --height, queue it. Without --height it is used when upgrade-info.json names it'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from help" -f -a "plan" -d 'Queue a batch of upgrades from a JSON file: a list of {"name", "height", "info"?}, unique names, strictly increasing heights, all above the current head. All or nothing; exit 2 with every problem listed'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show the queue (with preparation state), the current binary and the last upgrade with its outcome'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from help" -f -a "retry" -d 'Re-arm an upgrade that failed before its switch (state retry): it is prepared again and applied when due'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from help" -f -a "cancel" -d 'Remove a pending upgrade (or one waiting for a retry) from the queue (through the running supervisor, or offline under the home lock)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from help" -f -a "rollback" -d 'Point `current` back at the binary before the last upgrade (with no supervisor running)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand upgrade; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -f -a "test" -d 'Send a test alert to every sink in [alerts] and report each result (exit 1 if any fails)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and not __fish_seen_subcommand_from test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and __fish_seen_subcommand_from test" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and __fish_seen_subcommand_from test" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and __fish_seen_subcommand_from test" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "test" -d 'Send a test alert to every sink in [alerts] and report each result (exit 1 if any fails)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand __generate" -l home -d 'Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]' -r -F
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand __generate" -l name -d 'Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]' -r
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand __generate" -l log-format -d 'Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]' -r -f -a "text\t'Human-readable, coloured on a terminal'
json\t'One JSON object per line'"
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand __generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand __generate" -s V -l version -d 'Print version'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "init" -d 'Create a home: layout, genesis binary, `current` link and configuration'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "run" -d 'Run the node in the foreground and upgrade it at the planned heights'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "start" -d 'Start the supervisor and the node in the background; returns once the node runs and its RPC answers'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "stop" -d 'Stop the node gracefully, then the background supervisor'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "restart" -d 'Restart the node from the current configuration files (the supervisor keeps running)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "reload" -d 'Make the running supervisor re-read wemixvisor.toml and node-options.toml: reload-safe keys apply at once, the others are listed as pending (also on SIGHUP)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "status" -d 'Show supervisor, node, chain, health and upgrade state'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "logs" -d 'Print the node log\'s tail'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "daemon" -d 'The background supervisor itself (started by `start`)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "config" -d 'Show, change and check the configuration'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "backup" -d 'Snapshots of the chain data: create, list, verify, restore, prune'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "governance" -d 'On-chain governance (GovNCP proposals) and consensus monitoring'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "audit" -d 'Every mutating action (by a local user, an API token or the supervisor itself) from state/audit.log, oldest first'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "version" -d 'Print version information'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "completions" -d 'Print a shell completion script'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "upgrade" -d 'Upgrades: add, plan a batch, status, cancel, rollback'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "alerts" -d 'Alerts: send a test alert to every configured sink'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "__generate" -d 'Write completions, man pages and the systemd unit into a directory'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and not __fish_seen_subcommand_from init run start stop restart reload status logs daemon config backup governance audit version completions upgrade alerts __generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print the effective configuration and where each value came from (default, file, env, flag)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "set" -d 'Set one key (dotted, e.g. restart.backoff_max) in wemixvisor.toml, keeping comments; an invalid value changes nothing'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "reset" -d 'Put one key, or every key, back to the template value for the file\'s network (the built-in default when none is set)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "validate" -d 'Check wemixvisor.toml, the environment and node-options.toml; report every problem. Exit code 2 when invalid'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "migrate" -d 'Rewrite an older wemixvisor.toml in the current schema (the old file is kept beside it)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "create" -d 'Take a snapshot of chain-data now (incremental to the newest one)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "list" -d 'List snapshots: kind, age, logical size, disk space held, state'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "verify" -d 'Re-hash a snapshot against its manifest and report every difference'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "restore" -d 'Replace chain-data with a snapshot (the node must be stopped; the old data is kept as chain-data.pre-restore-<time>)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "prune" -d 'Apply retention: keep the newest automatic snapshots and young ones'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from governance" -f -a "proposals" -d 'List GovNCP proposals, rebuilt from the contract\'s events (kept in governance/proposals.json, so later runs read only new blocks)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from governance" -f -a "monitor" -d 'Print governance, consensus and fork changes as they happen, one line each, until Ctrl-C'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from upgrade" -f -a "add" -d 'Install an upgrade\'s binary now (from a file, or downloaded and verified from a URL) and, with --height, queue it. Without --height it is used when upgrade-info.json names it'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from upgrade" -f -a "plan" -d 'Queue a batch of upgrades from a JSON file: a list of {"name", "height", "info"?}, unique names, strictly increasing heights, all above the current head. All or nothing; exit 2 with every problem listed'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from upgrade" -f -a "status" -d 'Show the queue (with preparation state), the current binary and the last upgrade with its outcome'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from upgrade" -f -a "retry" -d 'Re-arm an upgrade that failed before its switch (state retry): it is prepared again and applied when due'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from upgrade" -f -a "cancel" -d 'Remove a pending upgrade (or one waiting for a retry) from the queue (through the running supervisor, or offline under the home lock)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from upgrade" -f -a "rollback" -d 'Point `current` back at the binary before the last upgrade (with no supervisor running)'
complete -c wemixvisor -n "__fish_wemixvisor_using_subcommand help; and __fish_seen_subcommand_from alerts" -f -a "test" -d 'Send a test alert to every sink in [alerts] and report each result (exit 1 if any fails)'
