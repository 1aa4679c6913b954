/* export_svg.c - a self-contained interactive SVG flamegraph, in the manner of
 * flamegraph.pl: the root at the bottom, widths proportional to sample counts,
 * frames merged by label along each path and siblings sorted by label.
 *
 * Stacks are turned into label-id sequences (ids sort like the labels), sorted,
 * and walked in order: a frame opens where a stack leaves the previous one's
 * prefix and closes where the next one leaves it, which lays out the merged
 * tree without building it.
 */
#include "export/export.h"
#include "export/label_stacks.h"
#include "sys/textesc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define IMG_W	    1200
#define FRAME_H	    16
#define FONT_SIZE   12
#define CHAR_W	    7 /* approximate width of a character at FONT_SIZE */
#define XPAD	    10
#define YPAD_TOP    60	/* title, subtitle */
#define YPAD_BOTTOM 34	/* details line */
#define MIN_W	    0.1 /* frames narrower than this (px) are left out */
#define ROOT_ID	    UINT32_MAX

struct label {
	const char *text; /* sanitized: valid UTF-8, no control characters */
	enum prof_frame_kind kind;
	uint32_t hash; /* of the frame's name, for its colour */
};

/* One visible frame of the graph; depth 0 is the "all" root. */
struct node {
	uint64_t start, count;
	uint32_t id, depth;
};

struct svg {
	const struct profile *p;
	FILE *out;
	struct label_stacks ls;
	struct node *nodes;
	size_t nnodes, nodes_cap;
	uint64_t hidden;
	uint32_t maxdepth;
	double px_per_sample;
};

/* --- text -------------------------------------------------------------- */

/* Length of the UTF-8 sequence at s if it is valid and allowed in XML
 * (which excludes U+FFFE and U+FFFF). */
static size_t xml_utf8_len(const unsigned char *s)
{
	if (s[0] == 0xef && s[1] == 0xbf && (s[2] == 0xbe || s[2] == 0xbf))
		return 0;
	return utf8_len(s);
}

/* In place: invalid UTF-8 becomes '?', control characters ' '. */
static void sanitize(char *str)
{
	unsigned char *r = (unsigned char *)str, *w = r;

	while (*r) {
		size_t n = xml_utf8_len(r);
		if (!n) {
			*w++ = '?';
			r++;
		} else if (n == 1 && (*r < 0x20 || *r == 0x7f)) {
			*w++ = ' ';
			r++;
		} else {
			memmove(w, r, n);
			w += n;
			r += n;
		}
	}
	*w = '\0';
}

static char *sanitized_dup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (d)
		sanitize(d);
	return d;
}

/* Writes s[0..len) with XML's five special characters escaped. */
static void xml_write(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			fputc(s[i], out);
		}
	}
}

static void xml_puts(FILE *out, const char *s)
{
	xml_write(out, s, strlen(s));
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Byte offset just past the first nchars characters of valid UTF-8 s. */
static size_t utf8_prefix(const char *s, size_t nchars)
{
	size_t i = 0;
	while (s[i] && nchars) {
		i += xml_utf8_len((const unsigned char *)s + i);
		nchars--;
	}
	return i;
}

/* The label as it fits in width px: whole, elided with "..", or nothing
 * when not even three characters fit. */
static void write_fitted(FILE *out, const char *label, double width)
{
	double fit = (width - 3) / CHAR_W;
	size_t max = fit > 0 ? (size_t)fit : 0;

	if (max < 3)
		return;
	if (utf8_chars(label) <= max) {
		xml_puts(out, label);
		return;
	}
	xml_write(out, label, utf8_prefix(label, max - 2));
	fputs("..", out);
}

/* Fixed point with two decimals, whatever the locale says. */
static void put_fixed2(FILE *out, double v)
{
	unsigned long long c = v > 0 ? (unsigned long long)(v * 100 + 0.5) : 0;
	fprintf(out, "%llu.%02llu", c / 100, c % 100);
}

/* --- labels ------------------------------------------------------------ */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h ^= h >> 15;
	h *= 0x2c1b3c6dU;
	h ^= h >> 12;
	return h;
}

static struct label label_of(const struct svg *g, uint32_t id)
{
	uint32_t f = g->ls.label_frame[id];
	const char *text = g->ls.label[id];
	if (f >= g->p->nframes)
		return (struct label){text, PROF_FRAME_SPECIAL, name_hash(text)};
	const struct prof_frame *fr = &g->p->frames[f];
	return (struct label){text, fr->kind, name_hash(fr->name)};
}

static int add_node(struct svg *g, uint32_t id, uint32_t depth, uint64_t start, uint64_t end)
{
	if ((double)(end - start) * g->px_per_sample < MIN_W) {
		g->hidden++;
		return 0;
	}
	if (g->nnodes == g->nodes_cap) {
		size_t ncap = g->nodes_cap ? g->nodes_cap * 2 : 256;
		struct node *nn = realloc(g->nodes, ncap * sizeof(*nn));
		if (!nn) {
			errno = ENOMEM;
			return -1;
		}
		g->nodes = nn;
		g->nodes_cap = ncap;
	}
	g->nodes[g->nnodes++] = (struct node){start, end - start, id, depth};
	if (depth > g->maxdepth)
		g->maxdepth = depth;
	return 0;
}

/* Closes the frames of s deeper than keep, which opened at open[]. */
static int close_frames(struct svg *g, const struct label_stack *s, uint32_t keep,
			const uint64_t *open, uint64_t now)
{
	for (uint32_t j = s->n; j-- > keep;) {
		if (add_node(g, s->ids[j], j + 1, open[j], now))
			return -1;
	}
	return 0;
}

static uint32_t common_prefix(const struct label_stack *a, const struct label_stack *b)
{
	uint32_t i = 0;
	while (i < a->n && i < b->n && a->ids[i] == b->ids[i])
		i++;
	return i;
}

static int layout(struct svg *g)
{
	const struct label_stack *prev = NULL;
	uint64_t now = 0, *open;
	int ret = -1;

	if (!g->ls.total)
		return 0;
	g->px_per_sample = (double)(IMG_W - 2 * XPAD) / (double)g->ls.total;
	if (add_node(g, ROOT_ID, 0, 0, g->ls.total))
		return -1;
	open = calloc(g->ls.maxlen ? g->ls.maxlen : 1, sizeof(*open));
	if (!open) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < g->ls.nstacks; i++) {
		const struct label_stack *s = &g->ls.stacks[i];
		uint32_t keep = prev ? common_prefix(prev, s) : 0;
		if (prev && close_frames(g, prev, keep, open, now))
			goto out;
		for (uint32_t j = keep; j < s->n; j++)
			open[j] = now;
		now += s->weight;
		prev = s;
	}
	if (prev && close_frames(g, prev, 0, open, now))
		goto out;
	ret = 0;
out:
	free(open);
	return ret;
}

/* --- output ------------------------------------------------------------ */

/* Warm for Python, blue for native code, green for the kernel, grey for the
 * rest; the shade comes from the name's hash so colours are stable. */
static void write_color(FILE *out, const struct label *lb)
{
	unsigned v1 = lb->hash & 0xff, v2 = (lb->hash >> 8) & 0xff, v3 = (lb->hash >> 16) & 0xff;
	unsigned r, gr, b;

	switch (lb->kind) {
	case PROF_FRAME_PYTHON:
		r = 230 + v1 * 25 / 255, gr = 120 + v2 * 100 / 255, b = v3 * 50 / 255;
		break;
	case PROF_FRAME_NATIVE:
		r = 95 + v1 * 60 / 255, gr = 165 + v2 * 50 / 255, b = 220 + v3 * 35 / 255;
		break;
	case PROF_FRAME_KERNEL:
		r = 70 + v1 * 60 / 255, gr = 185 + v2 * 55 / 255, b = 70 + v3 * 60 / 255;
		break;
	default:
		r = gr = b = 180 + v1 * 30 / 255;
		break;
	}
	fprintf(out, "rgb(%u,%u,%u)", r, gr, b);
}

static const struct label root_label = {"all", PROF_FRAME_SPECIAL, 0};

/* An amount in the profile's weight: "12 samples", or a time ("3.25 ms"). */
static void put_amount(const struct svg *g, FILE *out, uint64_t w)
{
	if (profile_is_cpu(g->p)) {
		fprintf(out, "%" PRIu64 " samples", w);
		return;
	}
	double us = (double)w;
	if (us >= 1e6) {
		put_fixed2(out, us / 1e6);
		fputs(" s", out);
	} else if (us >= 1e3) {
		put_fixed2(out, us / 1e3);
		fputs(" ms", out);
	} else {
		fprintf(out, "%" PRIu64 " us", w);
	}
}

static void write_node(struct svg *g, const struct node *n, uint32_t height)
{
	struct label own = n->id == ROOT_ID ? root_label : label_of(g, n->id);
	const struct label *lb = &own;
	double x = XPAD + (double)n->start * g->px_per_sample;
	double w = (double)n->count * g->px_per_sample;
	uint32_t y = height - YPAD_BOTTOM - (n->depth + 1) * FRAME_H;
	FILE *out = g->out;

	fprintf(out, "<g class=\"f\" data-s=\"%" PRIu64 "\" data-n=\"%" PRIu64 "\" data-d=\"%u\">",
		n->start, n->count, n->depth);
	fputs("<title>", out);
	xml_puts(out, lb->text);
	fputs(" (", out);
	put_amount(g, out, n->count);
	fputs(", ", out);
	put_fixed2(out, 100.0 * (double)n->count / (double)g->ls.total);
	fputs("%)</title><rect x=\"", out);
	put_fixed2(out, x);
	fprintf(out, "\" y=\"%u\" width=\"", y);
	put_fixed2(out, w);
	fprintf(out, "\" height=\"%d\" fill=\"", FRAME_H - 1);
	write_color(out, lb);
	fputs("\"/><text x=\"", out);
	put_fixed2(out, x + 3);
	fprintf(out, "\" y=\"%u\">", y + FRAME_H - 5);
	write_fitted(out, lb->text, w);
	fputs("</text></g>\n", out);
}

static const char svg_style[] =
	"<style type=\"text/css\">\n"
	"text { font-family: Verdana, 'DejaVu Sans', sans-serif; font-size: 12px; fill: #000; }\n"
	"#title { font-size: 17px; text-anchor: middle; }\n"
	"#subtitle { fill: #555; text-anchor: middle; }\n"
	"#reset { cursor: pointer; fill: #036; }\n"
	".f { cursor: pointer; }\n"
	".f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	".f text { pointer-events: none; }\n"
	"</style>\n";

/* Click a frame to zoom to it (its ancestors span the width, dimmed); click
 * "Reset Zoom" or the root to zoom out.  Frames carry their start, count and
 * depth in samples, so the geometry is recomputed exactly. */
static const char svg_script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"'use strict';\n"
	"var frames, details, reset;\n"
	"function num(e, a) { return +e.getAttribute(a); }\n"
	"function label(g) {\n"
	"  var t = g.getElementsByTagName('title')[0].textContent;\n"
	"  return t.replace(/ \\([^()]*, [\\d.]+%\\)$/, '');\n"
	"}\n"
	"function fit(s, w) {\n"
	"  var m = Math.floor((w - 3) / CHAR_W);\n"
	"  if (m < 3) return '';\n"
	"  return s.length <= m ? s : s.slice(0, m - 2) + '..';\n"
	"}\n"
	"function place(g, x, w, dim) {\n"
	"  var r = g.getElementsByTagName('rect')[0], t = g.getElementsByTagName('text')[0];\n"
	"  g.style.display = '';\n"
	"  g.style.opacity = dim ? '0.5' : '';\n"
	"  r.setAttribute('x', x.toFixed(2));\n"
	"  r.setAttribute('width', w.toFixed(2));\n"
	"  t.setAttribute('x', (x + 3).toFixed(2));\n"
	"  t.textContent = fit(label(g), w);\n"
	"}\n"
	"function zoom(z) {\n"
	"  var s = num(z, 'data-s'), n = num(z, 'data-n'), d = num(z, 'data-d');\n"
	"  var scale = (WIDTH - 2 * XPAD) / n;\n"
	"  for (var i = 0; i < frames.length; i++) {\n"
	"    var g = frames[i], fs = num(g, 'data-s'), fn = num(g, 'data-n');\n"
	"    var fd = num(g, 'data-d');\n"
	"    if (fd < d && fs <= s && fs + fn >= s + n)\n"
	"      place(g, XPAD, WIDTH - 2 * XPAD, true);\n"
	"    else if (fd >= d && fs >= s && fs + fn <= s + n)\n"
	"      place(g, XPAD + (fs - s) * scale, fn * scale, false);\n"
	"    else\n"
	"      g.style.display = 'none';\n"
	"  }\n"
	"  reset.style.display = d > 0 ? '' : 'none';\n"
	"}\n"
	"function init(evt) {\n"
	"  frames = document.getElementsByClassName('f');\n"
	"  details = document.getElementById('details');\n"
	"  reset = document.getElementById('reset');\n"
	"  reset.onclick = function() { zoom(frames[0]); };\n"
	"  for (var i = 0; i < frames.length; i++) {\n"
	"    frames[i].onclick = function() { zoom(this); };\n"
	"    frames[i].onmouseover = function() {\n"
	"      details.textContent = this.getElementsByTagName('title')[0].textContent;\n"
	"    };\n"
	"    frames[i].onmouseout = function() { details.textContent = ' '; };\n"
	"  }\n"
	"}\n"
	"]]></script>\n";

static void write_legend(FILE *out)
{
	static const struct {
		const char *name;
		struct label lb;
	} keys[] = {
		{"Python", {"", PROF_FRAME_PYTHON, 0x808080}},
		{"native", {"", PROF_FRAME_NATIVE, 0x808080}},
		{"kernel", {"", PROF_FRAME_KERNEL, 0x808080}},
	};
	int x = IMG_W - XPAD - 3 * 70;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++, x += 70) {
		fprintf(out, "<rect x=\"%d\" y=\"14\" width=\"10\" height=\"10\" fill=\"", x);
		write_color(out, &keys[i].lb);
		fprintf(out, "\"/><text x=\"%d\" y=\"23\">%s</text>\n", x + 14, keys[i].name);
	}
}

static void write_subtitle(struct svg *g)
{
	const struct profile *p = g->p;
	FILE *out = g->out;

	fprintf(out, "<text id=\"subtitle\" x=\"%d\" y=\"44\">", IMG_W / 2);
	put_amount(g, out, g->ls.total);
	if (!profile_is_cpu(p))
		fprintf(out, " of %s time", p->value_type);
	if (p->rate_hz)
		fprintf(out, "%s %u Hz", profile_is_cpu(p) ? " at" : ",", p->rate_hz);
	if (p->duration_ns) {
		fputs(", ", out);
		put_fixed2(out, (double)p->duration_ns / 1e9);
		fputs(" s", out);
	}
	if (g->hidden)
		fprintf(out, "; %" PRIu64 " tiny frame%s hidden (narrower than 0.1 px)", g->hidden,
			g->hidden == 1 ? "" : "s");
	if (!g->ls.total)
		fputs(" (nothing to show)", out);
	else
		fputs("; click a frame to zoom", out);
	fputs("</text>\n", out);
}

static void write_header(struct svg *g, const char *title, uint32_t height)
{
	FILE *out = g->out;

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n", out);
	fprintf(out,
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%u\" viewBox=\"0 0 %d %u\" onload=\"init(evt)\">\n",
		IMG_W, height, IMG_W, height);
	fputs(svg_style, out);
	fprintf(out,
		"<script type=\"text/ecmascript\">var WIDTH = %d, XPAD = %d, CHAR_W = %d;"
		"</script>\n",
		IMG_W, XPAD, CHAR_W);
	fputs(svg_script, out);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%u\" fill=\"#f8f8f4\"/>\n", IMG_W,
		height);
	fprintf(out, "<text id=\"title\" x=\"%d\" y=\"24\">", IMG_W / 2);
	xml_puts(out, title);
	fputs("</text>\n", out);
	write_subtitle(g);
	write_legend(out);
	fprintf(out,
		"<text id=\"reset\" x=\"%d\" y=\"24\" style=\"display:none\">Reset Zoom"
		"</text>\n",
		XPAD);
	fprintf(out, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n", XPAD, height - 14);
}

static void write_svg(struct svg *g, const char *title)
{
	uint32_t height = YPAD_TOP + (g->maxdepth + 1) * FRAME_H + YPAD_BOTTOM;

	write_header(g, title, height);
	for (size_t i = 0; i < g->nnodes; i++)
		write_node(g, &g->nodes[i], height);
	fputs("</svg>\n", g->out);
}

int export_svg(const struct profile *p, FILE *out, const char *title)
{
	struct svg g = {.p = p, .out = out};
	char *clean_title = NULL;
	int ret = -1;

	if (!p || !out) {
		errno = EINVAL;
		return -1;
	}
	clean_title = sanitized_dup(title && *title ? title : "Flame Graph");
	if (!clean_title) {
		errno = ENOMEM;
		return -1;
	}
	if (label_stacks_build(&g.ls, p, sanitize) || layout(&g))
		goto out;
	errno = 0;
	write_svg(&g, clean_title);
	if (export_finish(out))
		goto out;
	ret = 0;
out:
	free(clean_title);
	free(g.nodes);
	label_stacks_free(&g.ls);
	return ret;
}
