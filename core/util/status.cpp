#include "tokenfab/status.h"

namespace tokenfab {

std::string_view codeName(Code code) {
  switch (code) {
#define TF_CODE_NAME(c) \
  case Code::c:         \
    return #c;
    TF_CODE_NAME(kOk)
    TF_CODE_NAME(kInvalidArgument)
    TF_CODE_NAME(kNotFound)
    TF_CODE_NAME(kIoError)
    TF_CODE_NAME(kOutOfRange)
    TF_CODE_NAME(kUnsupported)
    TF_CODE_NAME(kCancelled)
    TF_CODE_NAME(kInternal)
    TF_CODE_NAME(kOutOfMemory)
    TF_CODE_NAME(kCorruptData)
    TF_CODE_NAME(kLimitExceeded)
    TF_CODE_NAME(kAlreadyExists)
    TF_CODE_NAME(kNetworkError)
    TF_CODE_NAME(kChecksumMismatch)
    TF_CODE_NAME(kGgufTruncated)
    TF_CODE_NAME(kGgufBadMagic)
    TF_CODE_NAME(kGgufBigEndian)
    TF_CODE_NAME(kGgufUnsupportedVersion)
    TF_CODE_NAME(kGgufBadValueType)
    TF_CODE_NAME(kGgufStringTooLong)
    TF_CODE_NAME(kGgufArrayTooLong)
    TF_CODE_NAME(kGgufNestingTooDeep)
    TF_CODE_NAME(kGgufDuplicateKey)
    TF_CODE_NAME(kGgufDuplicateTensor)
    TF_CODE_NAME(kGgufTooManyDims)
    TF_CODE_NAME(kGgufBadDimension)
    TF_CODE_NAME(kGgufBadTensorType)
    TF_CODE_NAME(kGgufBadAlignment)
    TF_CODE_NAME(kGgufMisalignedTensor)
    TF_CODE_NAME(kGgufTensorOutOfBounds)
    TF_CODE_NAME(kGgufTooManyTensors)
    TF_CODE_NAME(kGgufTooManyKeys)
    TF_CODE_NAME(kGgufBadRowSize)
    TF_CODE_NAME(kGgufOverlappingTensors)
    TF_CODE_NAME(kGgufBadKey)
    TF_CODE_NAME(kGgufWrongValueType)
    TF_CODE_NAME(kGgufEmptyName)
    TF_CODE_NAME(kGgufMetadataTooLarge)
    TF_CODE_NAME(kVkNoDevice)
    TF_CODE_NAME(kVkMissingFeature)
    TF_CODE_NAME(kVkDeviceLost)
    TF_CODE_NAME(kVkOutOfDeviceMemory)
    TF_CODE_NAME(kVkError)
    TF_CODE_NAME(kTokenizerBadVocab)
    TF_CODE_NAME(kTokenizerUnknownModel)
    TF_CODE_NAME(kTokenizerUnknownPre)
    TF_CODE_NAME(kTemplateSyntax)
    TF_CODE_NAME(kTemplateRuntime)
    TF_CODE_NAME(kTemplateRaised)
    TF_CODE_NAME(kTemplateLimit)
    TF_CODE_NAME(kModelUnsupportedArch)
    TF_CODE_NAME(kModelMissingTensor)
    TF_CODE_NAME(kModelBadShape)
    TF_CODE_NAME(kModelBadHyperParams)
    TF_CODE_NAME(kModelContextTooLarge)
    TF_CODE_NAME(kModelPromptTooLong)
    TF_CODE_NAME(kModelNotAModel)
    TF_CODE_NAME(kSessionCorrupt)
    TF_CODE_NAME(kSessionVersion)
#undef TF_CODE_NAME
  }
  return "kUnknown";
}

std::string Status::toString() const {
  if (isOk()) return "ok";
  std::string out(codeName(m_code));
  if (m_offset) out += " at byte " + std::to_string(*m_offset);
  out += ": ";
  out += m_message;
  return out;
}

Status Status::withContext(std::string_view context) const {
  if (isOk()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += m_message;
  return Status(m_code, std::move(msg), m_offset);
}

}  // namespace tokenfab
