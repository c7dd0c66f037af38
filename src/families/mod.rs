//! InvokeModel bodies of each Bedrock model family, translated to and from the Converse vocabulary.
