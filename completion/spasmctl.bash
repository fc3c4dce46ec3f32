# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for spasmctl(1), installed as
# /usr/share/bash-completion/completions/spasmctl (bash-completion loads it
# the first time spasmctl is completed).
# compgen's words never hold blanks here, so COMPREPLY=($(compgen ...)) is safe.
# shellcheck disable=SC2207

_spasmctl()
{
    local cur prev words cword split
    _init_completion -s || return

    local commands='analyze status sensors events monitor calibrate report'
    # All but analyze talk to spasmd, on the system bus unless told otherwise.
    local bus='--system --user --address='

    # The command is the first word that is not an option.
    local i command='' cmd_at=0
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} != -* ]]; then
            command=${words[i]}
            cmd_at=$i
            break
        fi
    done

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W '--help --version' -- "$cur"))
        else
            # Nothing follows --help or --version.
            for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                    --help | -h | --version | -V) return ;;
                esac
            done
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    # The value of an option.
    case $prev in
        --plot)
            _filedir svg
            return
            ;;
        --since | -S)
            COMPREPLY=($(compgen -W 'today yesterday 1h 24h 7d 1w' -- "$cur"))
            return
            ;;
        --limit | -n | --days | -d)
            return
            ;;
        --address)
            compopt -o nospace
            COMPREPLY=($(compgen -W 'unix:path= unix:abstract= tcp:host=' -- "$cur"))
            __ltrim_colon_completions "$cur"
            return
            ;;
    esac
    $split && return

    # The command's arguments so far, without options and their values.
    local args=0
    for ((i = cmd_at + 1; i < cword; i++)); do
        case ${words[i]} in
            --plot | --since | -S | --limit | -n | --days | -d | --address) ((i++)) ;;
            -*) ;;
            *) ((args++)) ;;
        esac
    done

    local opts
    case $command in
        analyze) opts='--json --plot --help' ;;
        status | sensors | monitor) opts="--json --help $bus" ;;
        events) opts="--since --limit --json --help $bus" ;;
        report) opts="--days --json --help $bus" ;;
        calibrate) opts="--json --help $bus" ;;
        *) return ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
        return
    fi

    case $command in
        analyze)
            # Recordings: spasmd recording v1, CSV ('-' reads standard input).
            _filedir csv
            ;;
        calibrate)
            ((args == 0)) && COMPREPLY=($(compgen -W 'rest max' -- "$cur"))
            ;;
    esac
} &&
    complete -F _spasmctl spasmctl

# ex: filetype=sh
