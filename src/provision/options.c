/* SPDX-License-Identifier: MIT */
/* Options of `berth provision`: a table of names, arguments, defaults and setters that the
 * command line, the BERTH_* environment and --help all read. */
#include "provision/options.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "provision/lookup.h"
#include "util/log.h"

struct popt {
	const char *name;
	const char *arg; /* NULL: a flag */
	const char *def;
	const char *help;
	bool repeat;
	int (*set)(struct provision_conf *c, const struct popt *o, const char *v);
	size_t flag; /* offset of the bool of a flag */
};

static int set_zone(struct provision_conf *c, const struct popt *o, const char *v)
{
	if (!provision_zone_valid(v) || strlen(v) >= sizeof(c->zone))
		return -1;
	/* One spelling, as it goes into the zone label: lower case, no trailing dot. */
	size_t n = strlen(v);
	n -= v[n - 1] == '.';
	for (size_t i = 0; i < n; i++)
		c->zone[i] = (char)tolower((unsigned char)v[i]);
	c->zone[n] = '\0';
	return 0;
}

static int set_resolver(struct provision_conf *c, const struct popt *o, const char *v)
{
	if (c->nresolvers >= PROVISION_MAX_RESOLVERS)
		return -1;
	if (addr_parse(&c->resolvers[c->nresolvers], v, 53) < 0)
		return -1;
	c->nresolvers++;
	return 0;
}

static int set_docker(struct provision_conf *c, const struct popt *o, const char *v)
{
	static const char *const schemes[] = { "unix:///", "tcp://", "http://", "https://" };
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(v, schemes[i], strlen(schemes[i])) == 0 &&
		    strlen(v) > strlen(schemes[i]) && strlen(v) < sizeof(c->docker)) {
			snprintf(c->docker, sizeof(c->docker), "%s", v);
			return 0;
		}
	return -1;
}

static int set_network(struct provision_conf *c, const struct popt *o, const char *v)
{
	if (strlen(v) >= sizeof(c->network))
		return -1;
	snprintf(c->network, sizeof(c->network), "%s", v);
	return 0;
}

static int seconds(const char *v, int min, int max, int *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return -1;
	*out = (int)n;
	return 0;
}

static int set_interval(struct provision_conf *c, const struct popt *o, const char *v)
{
	return seconds(v, 1, 86400, &c->interval);
}

static int set_stop_timeout(struct provision_conf *c, const struct popt *o, const char *v)
{
	return seconds(v, 0, 600, &c->stop_timeout);
}

static int set_timeout(struct provision_conf *c, const struct popt *o, const char *v)
{
	return seconds(v, 1, 300, &c->timeout);
}

static int set_log_level(struct provision_conf *c, const struct popt *o, const char *v)
{
	int l = log_level_parse(v);
	if (l < 0)
		return -1;
	c->log_level = l;
	return 0;
}

static int set_log_format(struct provision_conf *c, const struct popt *o, const char *v)
{
	if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0)
		return -1;
	c->log_json = v[0] == 'j';
	return 0;
}

/* A flag: "" from the command line; from the environment 1/true/yes/on or 0/false/no/off. */
static int set_flag(struct provision_conf *c, const struct popt *o, const char *v)
{
	bool *b = (bool *)((char *)c + o->flag);
	if (*v == '\0' || !strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcasecmp(v, "on"))
		*b = true;
	else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
		 !strcasecmp(v, "off"))
		*b = false;
	else
		return -1;
	return 0;
}

#define FLAG(n, field, h) { n, NULL, "off", h, false, set_flag, offsetof(struct provision_conf, field) }

static const struct popt opts[] = {
	{ "zone", "ZONE", "(required)",
	  "Read TXT containers.ZONE (the names) and NAME.containers.ZONE (each one's command line "
	  "\"image [args...]\").", false, set_zone, 0 },
	{ "resolver", "ADDR[:PORT]", "the nameservers in /etc/resolv.conf",
	  "Ask this resolver (repeatable; UDP with TCP fallback).", true, set_resolver, 0 },
	{ "docker", "URL", "$DOCKER_HOST, else unix:///var/run/docker.sock",
	  "Docker endpoint: unix:///path, tcp://host:port, http://, https://.", false, set_docker,
	  0 },
	{ "network", "NAME", "the engine's default (bridge)",
	  "Network mode of the containers berth creates: bridge, host, none or a network's name.",
	  false, set_network, 0 },
	FLAG("dry-run", dry_run, "Print the plan (create, replace, remove, keep, skip) and change "
				 "nothing."),
	FLAG("once", once, "Converge once and exit: 0 when all is as listed, 1 otherwise."),
	{ "interval", "SECONDS", "the smallest TTL of the records, at most 60",
	  "Without --once, converge again this often (and on SIGHUP; SIGTERM stops).", false,
	  set_interval, 0 },
	FLAG("adopt", adopt, "Replace a listed container that lacks the berth.provision label "
			     "(else it is reported and left alone)."),
	FLAG("pull", pull, "Pull an image that is not present locally (else: report, skip)."),
	FLAG("json", json, "Print one JSON document per round (plan, actions, errors, summary)."),
	{ "stop-timeout", "SECONDS", "10",
	  "Time a replaced or removed container gets to stop before it is killed.", false,
	  set_stop_timeout, 0 },
	{ "timeout", "SECONDS", "5", "Limit of each round of DNS queries.", false, set_timeout, 0 },
	{ "log-level", "LEVEL", "info", "Least severe messages logged: error, warn, info or debug.",
	  false, set_log_level, 0 },
	{ "log-format", "text|json", "text", "Log lines (on stderr) as text or JSON objects.", false,
	  set_log_format, 0 },
	FLAG("help", help, "Print this help and exit."),
	FLAG("version", version, "Print the version and exit."),
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void env_name(const struct popt *o, char *buf, size_t len)
{
	size_t i = (size_t)snprintf(buf, len, "BERTH_");
	for (const char *p = o->name; *p && i + 1 < len; p++)
		buf[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	buf[i] = '\0';
}

void provision_usage(FILE *f)
{
	char env[64], left[64];
	fprintf(f, "Usage: berth provision --zone ZONE [OPTION]...\n"
		   "Run the Docker containers that DNS TXT records list, and only those: create the\n"
		   "absent, replace those whose command changed, remove those of ours no longer\n"
		   "listed (never in a round whose listing was incomplete).\n\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct popt *o = &opts[i];
		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(f, "  %-28s %s\n", left, o->help);
		if (strcmp(o->name, "help") == 0 || strcmp(o->name, "version") == 0)
			continue;
		env_name(o, env, sizeof(env));
		fprintf(f, "  %-28s default: %s; env %s%s\n", "", o->def, env,
			o->repeat ? " (comma-separated)" : "");
	}
	fprintf(f, "\nContainers berth creates carry the labels berth.provision=<command line> and\n"
		   "berth.provision.zone=ZONE; the seed's docker-dns-provision.command label marks\n"
		   "ours too. Containers of another zone are never touched.\n");
}

static int apply(struct provision_conf *c, const struct popt *o, const char *v, const char *as,
		 char *err, size_t errlen)
{
	if (o->set(c, o, v) == 0)
		return 0;
	if (o->repeat && c->nresolvers >= PROVISION_MAX_RESOLVERS)
		snprintf(err, errlen, "%s: at most %d resolvers", as, PROVISION_MAX_RESOLVERS);
	else
		snprintf(err, errlen, "%s: bad value \"%.100s\"%s%s", as, v, o->arg ? ", want " : "",
			 o->arg ? o->arg : "");
	return -1;
}

int provision_conf_parse(struct provision_conf *c, int argc, char **argv, char *err,
			 size_t errlen)
{
	char name[64], as[80];
	bool resolvers_from_args = false;

	memset(c, 0, sizeof(*c));
	c->stop_timeout = 10;
	c->timeout = 5;
	c->log_level = LOG_INFO;
	for (size_t i = 0; i < NOPTS; i++) {
		const struct popt *o = &opts[i];
		env_name(o, name, sizeof(name));
		const char *v = getenv(name);
		if (v == NULL || *v == '\0' || !strcmp(o->name, "help") ||
		    !strcmp(o->name, "version"))
			continue;
		if (!o->repeat) {
			if (apply(c, o, v, name, err, errlen) < 0)
				return -1;
			continue;
		}
		char *copy = strdup(v), *save = NULL;
		int ret = 0;
		if (copy == NULL)
			return -1;
		for (char *t = strtok_r(copy, ", \t\n", &save); t && ret == 0;
		     t = strtok_r(NULL, ", \t\n", &save))
			ret = apply(c, o, t, name, err, errlen);
		free(copy);
		if (ret < 0)
			return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *v = NULL;
		const struct popt *o = NULL;
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument \"%.100s\"", a);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		for (size_t k = 0; k < NOPTS && !o; k++)
			if (strlen(opts[k].name) == len && strncmp(opts[k].name, a, len) == 0)
				o = &opts[k];
		if (o == NULL) {
			snprintf(err, errlen, "unknown option --%.*s", (int)len, a);
			return -1;
		}
		snprintf(as, sizeof(as), "--%s", o->name);
		if (o->arg == NULL) {
			if (eq) {
				snprintf(err, errlen, "%s takes no value", as);
				return -1;
			}
			v = "";
		} else if (eq) {
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			snprintf(err, errlen, "%s needs a value (%s)", as, o->arg);
			return -1;
		}
		/* The command line replaces the environment's resolvers, it does not add to them. */
		if (o->repeat && !resolvers_from_args) {
			resolvers_from_args = true;
			c->nresolvers = 0;
		}
		if (apply(c, o, v, as, err, errlen) < 0)
			return -1;
	}
	if (!c->help && !c->version && c->zone[0] == '\0') {
		snprintf(err, errlen, "--zone is required (or BERTH_ZONE)");
		return -1;
	}
	return 0;
}
