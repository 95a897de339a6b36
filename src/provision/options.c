/* SPDX-License-Identifier: MIT */
/* Options of `berth provision`: the option table that the engine in conf/optparse.c reads for
 * the command line, the BERTH_* environment and --help, and the checks after parsing. */
#include "provision/options.h"

#include <ctype.h>
#include <string.h>

#include "provision/lookup.h"
#include "util/err.h"
#include "util/log.h"

static int set_zone(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct provision_conf *c = conf;
	size_t len = strlen(v);

	if (!provision_zone_valid(v) || len >= sizeof(c->zone))
		return optparse_why(why, n,
				    "is not a DNS zone (labels of letters, digits, '-' or '_', "
				    "at most 63 characters each, 200 in all)");
	/* One spelling, as it goes into the zone label: lower case, no trailing dot. */
	len -= v[len - 1] == '.';
	for (size_t i = 0; i < len; i++)
		c->zone[i] = (char)tolower((unsigned char)v[i]);
	c->zone[len] = '\0';
	return 0;
}

static int set_resolver(void *conf, const struct optparse_opt *o, const char *v, char *why,
			size_t n)
{
	struct provision_conf *c = conf;

	if (c->nresolvers >= PROVISION_MAX_RESOLVERS)
		return optparse_why(why, n, "is one resolver too many (at most %d)",
				    PROVISION_MAX_RESOLVERS);
	if (addr_parse(&c->resolvers[c->nresolvers], v, 53) < 0)
		return optparse_why(why, n,
				    "is not an address with an optional port (192.0.2.1, "
				    "192.0.2.1:5353, [2001:db8::1]:53)");
	c->nresolvers++;
	return 0;
}

static int set_docker(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	static const char *const schemes[] = { "unix:///", "tcp://", "http://", "https://" };
	struct provision_conf *c = conf;
	size_t len = strlen(v);

	if (len >= sizeof(c->docker))
		return optparse_why(why, n, "is too long (at most %zu bytes)",
				    sizeof(c->docker) - 1);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(v, schemes[i], strlen(schemes[i])) == 0 && len > strlen(schemes[i])) {
			memcpy(c->docker, v, len + 1);
			return 0;
		}
	return optparse_why(why, n,
			    "is not a Docker endpoint (unix:///path, tcp://host:port, "
			    "http://host:port, https://host:port)");
}

static int set_network(void *conf, const struct optparse_opt *o, const char *v, char *why, size_t n)
{
	struct provision_conf *c = conf;
	size_t len = strlen(v);

	if (len >= sizeof(c->network))
		return optparse_why(why, n, "is too long (at most %zu bytes)",
				    sizeof(c->network) - 1);
	memcpy(c->network, v, len + 1);
	return 0;
}

static const char *const log_formats[] = { "text", "json", NULL };

#define AT(field) OPTPARSE_AT(struct provision_conf, field)
#define FLAG(n, field, h)                                                            \
	{                                                                            \
		.name = n, .def = "off", .help = h, .kind = OPTPARSE_FLAG, AT(field) \
	}

static const struct optparse_opt opts[] = {
	{ .name = "zone",
	  .arg = "ZONE",
	  .def = "(required)",
	  .help = "Read TXT containers.ZONE (the names) and NAME.containers.ZONE (each one's "
		  "command line \"image [args...]\").",
	  .kind = OPTPARSE_FUNC,
	  .set = set_zone },
	{ .name = "resolver",
	  .arg = "ADDR[:PORT]",
	  .def = "the nameservers in /etc/resolv.conf",
	  .help = "Ask this resolver (UDP with TCP fallback).",
	  .kind = OPTPARSE_FUNC,
	  .repeat = true,
	  .set = set_resolver },
	{ .name = "docker",
	  .arg = "URL",
	  .def = "$DOCKER_HOST, else unix:///var/run/docker.sock",
	  .help = "Docker endpoint: unix:///path, tcp://host:port, http://, https://.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_docker },
	{ .name = "network",
	  .arg = "NAME",
	  .def = "the engine's default (bridge)",
	  .help = "Network mode of the containers berth creates: bridge, host, none or a "
		  "network's name.",
	  .kind = OPTPARSE_FUNC,
	  .set = set_network },
	FLAG("dry-run", dry_run,
	     "Print the plan (create, replace, remove, keep, skip) and change nothing."),
	FLAG("once", once, "Converge once and exit: 0 when all is as listed, 1 otherwise."),
	{ .name = "interval",
	  .arg = "SECONDS",
	  .def = "the smallest TTL of the records, at most 60",
	  .help = "Without --once, converge again this often (and on SIGHUP; SIGTERM stops).",
	  .kind = OPTPARSE_NUM,
	  AT(interval),
	  .min = 1,
	  .max = 86400,
	  .what = "a number of seconds" },
	FLAG("adopt", adopt,
	     "Replace a listed container that lacks the berth.provision label (else it is "
	     "reported and left alone)."),
	FLAG("pull", pull, "Pull an image that is not present locally (else: report, skip)."),
	FLAG("json", json, "Print one JSON document per round (plan, actions, errors, summary)."),
	{ .name = "stop-timeout",
	  .arg = "SECONDS",
	  .def = "10",
	  .help = "Time a replaced or removed container gets to stop before it is killed.",
	  .kind = OPTPARSE_NUM,
	  AT(stop_timeout),
	  .max = 600,
	  .what = "a number of seconds" },
	{ .name = "timeout",
	  .arg = "SECONDS",
	  .def = "5",
	  .help = "Limit of each round of DNS queries.",
	  .kind = OPTPARSE_NUM,
	  AT(timeout),
	  .min = 1,
	  .max = 300,
	  .what = "a number of seconds" },
	{ .name = "log-level",
	  .arg = "LEVEL",
	  .def = "info",
	  .help = "Least severe messages logged: error, warn, info or debug.",
	  .kind = OPTPARSE_FUNC,
	  AT(log_level),
	  .set = optparse_set_log_level },
	{ .name = "log-format",
	  .arg = "text|json",
	  .def = "text",
	  .help = "Log lines (on stderr) as text or JSON objects.",
	  .kind = OPTPARSE_CHOICE,
	  AT(log_json),
	  .what = "a log format",
	  .choices = log_formats },
};

static const struct optparse_cmd provision_cmd = {
	.usage = "berth provision --zone ZONE [OPTION]...",
	.about = "Run the Docker containers that DNS TXT records list, and only those: create the\n"
		 "absent, replace those whose command changed, remove those of ours no longer\n"
		 "listed (never in a round whose listing was incomplete).\n",
	.notes = "Containers berth creates carry the labels berth.provision=<command line> and\n"
		 "berth.provision.zone=ZONE; the seed's docker-dns-provision.command label marks\n"
		 "ours too. Containers of another zone are never touched.\n",
	.opts = opts,
	.nopts = sizeof(opts) / sizeof(opts[0]),
};

void provision_usage(FILE *f)
{
	optparse_usage(&provision_cmd, f);
}

int provision_conf_parse(struct provision_conf *c, int argc, char **argv, bool *exited, char *err,
			 size_t errlen)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->stop_timeout = 10;
	c->timeout = 5;
	c->log_level = LOG_INFO;
	ret = optparse_parse(&provision_cmd, c, argc, argv, exited, err, errlen);
	if (ret < 0 || *exited)
		return ret;
	if (c->zone[0] == '\0')
		return berth_fail(err, errlen, -EINVAL, "--zone is required (or BERTH_ZONE)");
	return 0;
}
