/* Levelled logging to stderr. Each .c file defines LOG_MODULE before including
 * this header. Never log key material; mismatch details go to LOG_DEBUG. */
#ifndef ATTEST_LOG_H
#define ATTEST_LOG_H

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Default: INFO, or the ATTEST_LOG_LEVEL environment variable (error|warn|info|debug). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error|warn|info|debug"; returns -1 on unknown text. */
int log_level_parse(const char *text);

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifndef LOG_MODULE
#define LOG_MODULE "attest"
#endif
#define LOG_ERR(...) log_msg(LOG_LEVEL_ERROR, LOG_MODULE, __VA_ARGS__)
#define LOG_WARN(...) log_msg(LOG_LEVEL_WARN, LOG_MODULE, __VA_ARGS__)
#define LOG_INFO(...) log_msg(LOG_LEVEL_INFO, LOG_MODULE, __VA_ARGS__)
#define LOG_DEBUG(...) log_msg(LOG_LEVEL_DEBUG, LOG_MODULE, __VA_ARGS__)

#endif
