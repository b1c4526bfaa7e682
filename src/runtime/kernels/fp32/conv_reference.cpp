#include <algorithm>

#include "conv_geom.h"
#include "runtime/threading.h"

namespace eq {

ConvGeom conv_geom_from(const KernelCreateInfo& info, bool transposed) {
  const Shape& xs = info.inputs.at(0).shape;
  const Shape& ws = info.inputs.at(1).shape;
  const Shape& ys = info.outputs.at(0).second;
  const size_t k = xs.size() - 2;
  const Attrs& at = info.node.attrs;
  const std::vector<int64_t> stride = at.ints("stride", std::vector<int64_t>(k, 1));
  const std::vector<int64_t> dil = at.ints("dilation", std::vector<int64_t>(k, 1));
  std::vector<int64_t> pad = at.ints("padding", std::vector<int64_t>(2 * k, 0));
  if (pad.size() == k) pad.insert(pad.end(), pad.begin(), pad.end());
  ConvGeom g;
  g.transposed = transposed;
  g.groups = at.i("groups", 1);
  g.n = xs[0];
  g.ic = xs[1];
  g.oc = ys[1];
  g.has_bias = info.present.size() > 2 && info.present[2];
  if (k == 1) {
    g.iw = xs[2], g.ow = ys[2], g.kw = ws[2], g.sw = stride[0], g.dw = dil[0], g.pl = pad[0], g.pr = pad[1];
  } else {
    g.ih = xs[2], g.iw = xs[3], g.oh = ys[2], g.ow = ys[3], g.kh = ws[2], g.kw = ws[3];
    g.sh = stride[0], g.sw = stride[1], g.dh = dil[0], g.dw = dil[1];
    g.pt = pad[0], g.pl = pad[1], g.pb = pad[2], g.pr = pad[3];
  }
  return g;
}

void conv_reference(const ConvGeom& g, const float* x, const float* w, const float* b, float* y) {
  const int64_t icg = g.ic / g.groups, ocg = g.oc / g.groups;
  parallel_for(static_cast<long>(g.n * g.oc), 1, [&](long tb, long te) {
    for (long t = tb; t < te; ++t) {
      const int64_t n = t / g.oc, oc = t % g.oc, grp = oc / ocg;
      float* yp = y + t * g.oh * g.ow;
      const float bias = b ? b[oc] : 0.f;
      for (int64_t i = 0; i < g.oh * g.ow; ++i) yp[i] = bias;
      for (int64_t c = 0; c < icg; ++c) {
        const float* xp = x + (n * g.ic + grp * icg + c) * g.ih * g.iw;
        const float* wp = w + (oc * icg + c) * g.kh * g.kw;
        for (int64_t oh = 0; oh < g.oh; ++oh)
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            float s = 0.f;
            for (int64_t kh = 0; kh < g.kh; ++kh) {
              const int64_t ih = oh * g.sh - g.pt + kh * g.dh;
              if (ih < 0 || ih >= g.ih) continue;
              for (int64_t kw = 0; kw < g.kw; ++kw) {
                const int64_t iw = ow * g.sw - g.pl + kw * g.dw;
                if (iw < 0 || iw >= g.iw) continue;
                s += xp[ih * g.iw + iw] * wp[kh * g.kw + kw];
              }
            }
            yp[oh * g.ow + ow] += s;
          }
      }
    }
  });
}

// Scatter form: each input pixel adds w * x to the output pixels it reaches. Parallel over (n, oc)
// so that every thread owns whole output planes.
void conv_transpose_reference(const ConvGeom& g, const float* x, const float* w, const float* b, float* y) {
  const int64_t icg = g.ic / g.groups, ocg = g.oc / g.groups;
  parallel_for(static_cast<long>(g.n * g.oc), 1, [&](long tb, long te) {
    for (long t = tb; t < te; ++t) {
      const int64_t n = t / g.oc, oc = t % g.oc, grp = oc / ocg, o = oc % ocg;
      float* yp = y + t * g.oh * g.ow;
      const float bias = b ? b[oc] : 0.f;
      for (int64_t i = 0; i < g.oh * g.ow; ++i) yp[i] = bias;
      for (int64_t c = 0; c < icg; ++c) {
        const int64_t ic = grp * icg + c;
        const float* xp = x + (n * g.ic + ic) * g.ih * g.iw;
        const float* wp = w + (ic * ocg + o) * g.kh * g.kw;
        for (int64_t ih = 0; ih < g.ih; ++ih)
          for (int64_t kh = 0; kh < g.kh; ++kh) {
            const int64_t oh = ih * g.sh - g.pt + kh * g.dh;
            if (oh < 0 || oh >= g.oh) continue;
            for (int64_t iw = 0; iw < g.iw; ++iw) {
              const float v = xp[ih * g.iw + iw];
              for (int64_t kw = 0; kw < g.kw; ++kw) {
                const int64_t ow = iw * g.sw - g.pl + kw * g.dw;
                if (ow < 0 || ow >= g.ow) continue;
                yp[oh * g.ow + ow] += v * wp[kh * g.kw + kw];
              }
            }
          }
      }
    }
  });
}

}  // namespace eq
