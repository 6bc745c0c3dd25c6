#!/bin/sh
# job.sh: the command the executor tests run. It writes what happened to
# TRUTH, a file shared by every run of a test, one line per event:
#
#   start DS PID TIME RUN_ID ATTEMPT     when it starts
#   term  DS PID TIME                    when SIGTERM reached it (trap)
#   end   DS PID TIME STATUS             when it ends by itself
#
# (TIME: seconds since the epoch, with nanoseconds), so the file is the
# truth of what ran, when, and how often, whatever the service says.
#
#   job.sh TRUTH SECONDS [OPTION ...]
#     trap              SIGTERM is written down, then exit 143
#     fail=DS,DS        exit 1 for these dates
#     failfirst=DS,DS   exit 1 the first time each of these dates runs
#     flaky=N           exit 1 the first N times any date runs
#     env               print the run's environment variables (to the log)
#
# The run's facts come from the environment (DS, PIPELINE_RUN_ID, ...),
# as the executor gives them; nothing of the run is in the command text.
truth=$1
secs=$2
shift 2
now() { date +%s.%N; }
# How many times this date started before (this start written already).
starts() { grep -c "^start $DS " "$truth"; }

echo "start $DS $$ $(now) $PIPELINE_RUN_ID $PIPELINE_RUN_ATTEMPT" >> "$truth"
for a in "$@"; do
	case $a in
	trap) trap 'echo "term $DS $$ $(now)" >> "$truth"; exit 143' TERM ;;
	env) env | grep -E '^(BACKFILL_|PIPELINE_|EXECUTION_DATE|DS=|HR=|INTERVAL_|VARIABLES=)' | sort
	     echo "to stderr" >&2 ;;
	esac
done
# In the background, so that a trapped SIGTERM is handled at once.
sleep "$secs" &
wait $!
rc=0
for a in "$@"; do
	case $a in
	fail=*) case ",${a#fail=}," in *",$DS,"*) rc=1 ;; esac ;;
	failfirst=*) case ",${a#failfirst=}," in
		*",$DS,"*) [ "$(starts)" -le 1 ] && rc=1 ;; esac ;;
	flaky=*) [ "$(starts)" -le "${a#flaky=}" ] && rc=1 ;;
	esac
done
echo "end $DS $$ $(now) $rc" >> "$truth"
exit $rc
