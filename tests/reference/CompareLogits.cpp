//===- CompareLogits.cpp - Compare two float32 logits files ---------------===//
//
// `llmc-compare-logits A B --vocab V`: A is under test, B is the reference
// (both row-major float32 [rows, V], little-endian, as written by
// `llmc-reference --logits-out` and a compiled model's `--logits-out`). Passes
// when the relative L2 error ||A - B|| / ||B|| is within --max-rel-l2 over
// all rows and for every row on its own, every value is finite and every
// row's argmax agrees, except rows whose reference
// top-2 gap is too small to decide (near ties), which are counted.
//
//===----------------------------------------------------------------------===//

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

llvm::cl::OptionCategory compareCategory("llmc-compare-logits options");

llvm::cl::opt<std::string> testedPath(llvm::cl::Positional, llvm::cl::Required,
                                      llvm::cl::desc("<logits under test>"),
                                      llvm::cl::cat(compareCategory));
llvm::cl::opt<std::string> referencePath(llvm::cl::Positional,
                                         llvm::cl::Required,
                                         llvm::cl::desc("<reference logits>"),
                                         llvm::cl::cat(compareCategory));
llvm::cl::opt<int64_t> vocab("vocab", llvm::cl::Required,
                             llvm::cl::desc("Row length (vocabulary size)"),
                             llvm::cl::cat(compareCategory));
llvm::cl::opt<double>
    maxRelL2("max-rel-l2", llvm::cl::init(1e-4),
             llvm::cl::desc("Largest accepted ||A - B|| / ||B|| over all "
                            "compared rows"),
             llvm::cl::cat(compareCategory));
llvm::cl::opt<int64_t>
    rowsFrom("rows-from", llvm::cl::init(0),
             llvm::cl::desc("Compare only rows with index >= this"),
             llvm::cl::cat(compareCategory));
llvm::cl::opt<double> tieGap(
    "tie-gap", llvm::cl::init(1e-6),
    llvm::cl::desc("A reference row whose top-2 gap is at most this times "
                   "its largest |logit| is a near tie: its argmax is not "
                   "checked"),
    llvm::cl::cat(compareCategory));

llvm::Expected<std::vector<float>> readLogits(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(buffer.getError(),
                                   "cannot read '" + path.str() +
                                       "': " + buffer.getError().message());
  llvm::StringRef bytes = (*buffer)->getBuffer();
  uint64_t rowBytes = uint64_t(vocab) * sizeof(float);
  if (bytes.empty() || bytes.size() % rowBytes != 0)
    return llvm::createStringError(
        "'" + path.str() + "' has " + std::to_string(bytes.size()) +
        " bytes, not a positive multiple of vocab * 4 = " +
        std::to_string(rowBytes));
  std::vector<float> values(bytes.size() / sizeof(float));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = llvm::support::endian::read<float, llvm::endianness::little>(
        bytes.data() + i * sizeof(float));
  return values;
}

struct RowResult {
  double errSq = 0, refSq = 0;
  int64_t testedArgmax = 0, referenceArgmax = 0;
  bool nearTie = false;
  int64_t nonFinite = 0;
};

int64_t argmaxOf(const float *row) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; ++i)
    if (row[i] > row[best])
      best = i;
  return best;
}

RowResult compareRow(const float *a, const float *b) {
  RowResult r;
  double top1 = -INFINITY, top2 = -INFINITY, scale = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) {
      ++r.nonFinite;
      continue;
    }
    double diff = double(a[i]) - double(b[i]);
    r.errSq += diff * diff;
    r.refSq += double(b[i]) * double(b[i]);
    scale = std::max(scale, std::fabs(double(b[i])));
    if (b[i] > top1) {
      top2 = top1;
      top1 = b[i];
    } else if (b[i] > top2) {
      top2 = b[i];
    }
  }
  r.testedArgmax = argmaxOf(a);
  r.referenceArgmax = argmaxOf(b);
  r.nearTie = vocab > 1 && top1 - top2 <= tieGap * scale;
  return r;
}

double relativeL2(double errSq, double refSq) {
  if (refSq == 0)
    return errSq == 0 ? 0.0 : INFINITY;
  return std::sqrt(errSq / refSq);
}

int reportError(llvm::Error err) {
  llvm::WithColor::error(llvm::errs(), "llmc-compare-logits")
      << llvm::toString(std::move(err)) << "\n";
  return 2;
}

int run() {
  if (vocab <= 0) {
    llvm::WithColor::error(llvm::errs(), "llmc-compare-logits")
        << "--vocab must be positive\n";
    return 2;
  }
  llvm::Expected<std::vector<float>> a = readLogits(testedPath);
  if (!a)
    return reportError(a.takeError());
  llvm::Expected<std::vector<float>> b = readLogits(referencePath);
  if (!b)
    return reportError(b.takeError());
  int64_t rows = b->size() / vocab;
  if (a->size() != b->size()) {
    llvm::WithColor::error(llvm::errs(), "llmc-compare-logits")
        << "'" << testedPath << "' has " << a->size() / vocab
        << " rows, the reference '" << referencePath << "' has " << rows
        << "\n";
    return 1;
  }
  if (rowsFrom < 0 || rowsFrom >= rows) {
    llvm::WithColor::error(llvm::errs(), "llmc-compare-logits")
        << "--rows-from " << rowsFrom << " leaves no rows of " << rows << "\n";
    return 2;
  }

  double errSq = 0, refSq = 0, worstRel = -1;
  int64_t worstRow = -1, agree = 0, checked = 0, nearTies = 0, nonFinite = 0;
  std::vector<int64_t> disagreeing;
  for (int64_t row = rowsFrom; row < rows; ++row) {
    RowResult r = compareRow(a->data() + row * vocab, b->data() + row * vocab);
    errSq += r.errSq;
    refSq += r.refSq;
    nonFinite += r.nonFinite;
    double rel = relativeL2(r.errSq, r.refSq);
    if (rel > worstRel) {
      worstRel = rel;
      worstRow = row;
    }
    if (r.nearTie) {
      ++nearTies;
      continue;
    }
    ++checked;
    if (r.testedArgmax == r.referenceArgmax)
      ++agree;
    else
      disagreeing.push_back(row);
  }
  double rel = relativeL2(errSq, refSq);

  llvm::outs() << "rows=" << rows - rowsFrom
               << " rel_l2=" << llvm::format("%.3e", rel)
               << " worst_row=" << worstRow << " ("
               << llvm::format("%.3e", worstRel) << ")"
               << " argmax_agree=" << agree << "/" << checked
               << " near_ties=" << nearTies << " nonfinite=" << nonFinite
               << "\n";
  // The summary comes before the errors when both go to one pipe.
  llvm::outs().flush();

  bool ok = true;
  auto fail = [&](const llvm::Twine &why) {
    llvm::WithColor::error(llvm::errs(), "llmc-compare-logits") << why << "\n";
    ok = false;
  };
  if (nonFinite > 0)
    fail(llvm::Twine(nonFinite) + " values are NaN or infinite");
  if (!(rel <= maxRelL2))
    fail("rel_l2 " + llvm::formatv("{0:e3}", rel).str() + " exceeds " +
         llvm::formatv("{0:e3}", double(maxRelL2)).str());
  // Every position on its own: a few bad rows must not hide in the mean.
  if (!(worstRel <= maxRelL2))
    fail("row " + llvm::Twine(worstRow) + ": rel_l2 " +
         llvm::formatv("{0:e3}", worstRel).str() + " exceeds " +
         llvm::formatv("{0:e3}", double(maxRelL2)).str());
  for (int64_t row : llvm::ArrayRef(disagreeing).take_front(5))
    fail("row " + llvm::Twine(row) + ": argmax " +
         llvm::Twine(argmaxOf(a->data() + row * vocab)) + ", reference " +
         llvm::Twine(argmaxOf(b->data() + row * vocab)));
  if (disagreeing.size() > 5)
    fail(llvm::Twine(disagreeing.size() - 5) + " more rows disagree");
  return ok ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  llvm::cl::HideUnrelatedOptions(compareCategory);
  llvm::cl::ParseCommandLineOptions(
      argc, argv, "llmc-compare-logits: compare float32 logits files\n");
  return run();
}
