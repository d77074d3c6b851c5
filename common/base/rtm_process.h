/* rtm_process — process set-up both binaries share. */
#ifndef RTM_PROCESS_H
#define RTM_PROCESS_H

/* Raises the soft RLIMIT_NOFILE to the hard limit and logs both (one line,
 * event=nofile, naming the binary). Returns the soft limit now in force. */
long rtm_process_raise_nofile(const char *binary);

#endif
