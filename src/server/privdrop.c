/* SPDX-License-Identifier: MIT */
/* `berth serve --user NAME [--group NAME]`: every socket is bound while berth
 * is still root, then it becomes NAME, keeps no capability (or only
 * CAP_NET_BIND_SERVICE) and none can come back. This runs before any thread
 * exists, so no thread that parses a packet ever runs as root. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server/privdrop.h"
#include "server/server.h"
#include "util/err.h"
#include "util/log.h"

/* Built with AddressSanitizer (gcc says so one way, clang another)? */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

struct bound {
	struct addr a;
	int type;
	int fd; /* -1 once taken */
};

static struct bound *pool;
static size_t npool;
static bool filling; /* while the pool is filled, server_bind binds anew */

int privdrop_take_socket(const struct addr *a, int type)
{
	for (size_t i = 0; !filling && i < npool; i++)
		if (pool[i].fd >= 0 && pool[i].type == type && addr_equal(&pool[i].a, a)) {
			int fd = pool[i].fd;
			pool[i].fd = -1;
			return fd;
		}
	return -1;
}

void privdrop_clear(void)
{
	for (size_t i = 0; i < npool; i++)
		if (pool[i].fd >= 0)
			close(pool[i].fd);
	free(pool);
	pool = NULL;
	npool = 0;
}

/* Bind one more socket into the pool. */
static int prebind(const struct addr *a, int type, bool http, char *err, size_t errlen)
{
	struct bound *v = realloc(pool, (npool + 1) * sizeof(*v));
	if (v == NULL)
		return berth_fail(err, errlen, -ENOMEM, "out of memory");
	pool = v;
	filling = true;
	int fd = server_bind(a, type, err, errlen);
	filling = false;
	if (fd < 0) {
		if (http) {
			char text[80];
			berth_fail(err, errlen, fd,
				   "HTTP: cannot listen on %s: %s; choose another address with "
				   "--http ADDR:PORT (or BERTH_HTTP), or turn HTTP off with --http "
				   "none",
				   addr_str(a, text, sizeof(text)), berth_strerror(fd));
		}
		return fd;
	}
	pool[npool++] = (struct bound){ .a = *a, .type = type, .fd = fd };
	return 0;
}

static int bind_all(const struct serve_conf *c, char *err, size_t errlen)
{
	unsigned threads = c->threads ? c->threads : 1;
	int ret;
	for (size_t l = 0; l < c->nlisten; l++) {
		for (unsigned t = 0; t < threads; t++)
			if ((ret = prebind(&c->listen[l], SOCK_DGRAM, false, err, errlen)) < 0)
				return ret;
		if ((ret = prebind(&c->listen[l], SOCK_STREAM, false, err, errlen)) < 0)
			return ret;
	}
	if (!c->http_none && (ret = prebind(&c->http, SOCK_STREAM, true, err, errlen)) < 0)
		return ret;
	return 0;
}

/* The supplementary group: --group, else the group of a unix:// Docker
 * socket (unless that is root's). false: none. */
static bool extra_group(const struct serve_conf *c, gid_t *out)
{
	if (c->group != NULL) {
		struct group *g = getgrnam(c->group);
		if (g == NULL) {
			log_warn("serve",
				 "--group %s: no such group; berth runs without it (the Docker "
				 "socket may not be readable)",
				 c->group);
			return false;
		}
		*out = g->gr_gid;
		return true;
	}
	if (c->docker == NULL || strncmp(c->docker, "unix://", 7) != 0)
		return false;
	const char *path = c->docker + 7;
	struct stat st;
	if (stat(path, &st) != 0) {
		log_info("serve",
			 "Docker socket %s not there (yet): no group of its own is kept; set "
			 "--group to the group that will own it",
			 path);
		return false;
	}
	if (st.st_gid == 0) {
		log_warn("serve",
			 "Docker socket %s belongs to group root: that group is not kept (set "
			 "--group)",
			 path);
		return false;
	}
	*out = st.st_gid;
	return true;
}

/* --state-dir, made for the user when it is missing (its parent is usually root's). */
static void make_state_dir(const struct serve_conf *c, uid_t uid, gid_t gid)
{
	if (c->state_dir == NULL || mkdir(c->state_dir, 0750) != 0)
		return;
	if (chown(c->state_dir, uid, gid) != 0)
		log_warn("serve", "--state-dir %s: cannot give it to uid %u: %s", c->state_dir,
			 (unsigned)uid, strerror(errno));
}

static int set_caps(bool keep_bind)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof(d));
	if (keep_bind) {
		d[0].permitted = 1u << CAP_NET_BIND_SERVICE;
		d[0].effective = 1u << CAP_NET_BIND_SERVICE;
	}
	return syscall(SYS_capset, &h, d) == 0 ? 0 : -errno;
}

/* Is any capability beyond CAP_NET_BIND_SERVICE (or, without keep_bind, any at
 * all) still effective or permitted? */
static bool caps_left(bool keep_bind)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &h, d) != 0)
		return true;
	uint32_t allowed = keep_bind ? 1u << CAP_NET_BIND_SERVICE : 0;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		uint32_t ok = i == 0 ? allowed : 0;
		if ((d[i].effective & ~ok) || (d[i].permitted & ~ok) || d[i].inheritable)
			return true;
	}
	return false;
}

int privdrop_start(const struct serve_conf *c, char *err, size_t errlen)
{
	if (c->user == NULL)
		return 0;
	struct passwd *pw = getpwnam(c->user);
	if (pw == NULL)
		return berth_fail(err, errlen, -ENOENT, "--user %s: no such user", c->user);
	uid_t uid = pw->pw_uid;
	gid_t gids[2] = { pw->pw_gid, 0 };
	if (getuid() == uid && geteuid() == uid && uid != 0) {
		log_info("serve", "--user %s: already running as that user", c->user);
		return 0;
	}
	if (geteuid() != 0)
		return berth_fail(
			err, errlen, -EPERM,
			"--user %s: berth must be started as root to change user (it runs "
			"as uid %u)",
			c->user, (unsigned)geteuid());
	if (uid == 0)
		return berth_fail(err, errlen, -EINVAL,
				  "--user %s: that is root; name an unprivileged user", c->user);
	size_t ngids = 1;
	if (extra_group(c, &gids[1]) && gids[1] != gids[0])
		ngids = 2;

	int ret = bind_all(c, err, errlen);
	if (ret < 0) {
		privdrop_clear();
		return ret;
	}
	make_state_dir(c, uid, gids[0]);

	/* Capabilities never come back: not from the bounding set, not through exec. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int cap = 0; cap <= 63; cap++)
		if (!(c->keep_net_bind && cap == CAP_NET_BIND_SERVICE) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL)
			break; /* past the last capability this kernel knows */
	if (c->keep_net_bind && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		ret = -errno;
	if (ret == 0 && setgroups(ngids, gids) != 0)
		ret = -errno;
	if (ret == 0 && setresgid(gids[0], gids[0], gids[0]) != 0)
		ret = -errno;
	if (ret == 0 && setresuid(uid, uid, uid) != 0)
		ret = -errno;
	if (ret == 0)
		ret = set_caps(c->keep_net_bind);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (ret == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		ret = -errno;
	if (ret < 0) {
		privdrop_clear();
		return berth_fail(err, errlen, ret, "--user %s: cannot become that user: %s",
				  c->user, berth_strerror(ret));
	}
	/* Check, rather than trust: no way back to root, nothing more than asked. */
	uid_t r, e, s;
	if (setuid(0) == 0 || getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid ||
	    caps_left(c->keep_net_bind)) {
		privdrop_clear();
		return berth_fail(err, errlen, -EPERM,
				  "--user %s: root or a capability is still held after the change",
				  c->user);
	}
#ifdef UNDER_ASAN
	/* Test builds only: LeakSanitizer checks at exit from a task that must
	 * ptrace this process, which the change of user made undumpable. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	char gtext[64] = "";
	if (ngids == 2) {
		struct group *g = getgrgid(gids[1]);
		if (g != NULL)
			snprintf(gtext, sizeof(gtext), ", group %s", g->gr_name);
		else
			snprintf(gtext, sizeof(gtext), ", group %u", (unsigned)gids[1]);
	}
	log_info("serve", "sockets bound as root; now uid %u (%s)%s, capabilities: %s",
		 (unsigned)uid, c->user, gtext,
		 c->keep_net_bind ? "CAP_NET_BIND_SERVICE only" : "none");
	return 0;
}
