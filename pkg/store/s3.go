package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3API is what the S3 blob store needs.
type S3API interface {
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ S3API = (*s3.Client)(nil)

// S3 stores blobs as objects of one bucket, under an optional prefix.
type S3 struct {
	Client S3API
	Bucket string
	Prefix string // e.g. "orgscan/"; empty for the bucket root
}

var (
	_ Blobs   = S3{}
	_ Lister  = S3{}
	_ Locator = S3{}
)

// Locate is the key's s3:// URI.
func (b S3) Locate(key string) string { return "s3://" + b.Bucket + "/" + b.Prefix + key }

// Put spools r to a temporary file (bounded memory, and a seekable body the
// SDK can sign and retry) and uploads it with one PutObject. S3 replaces an
// object atomically.
func (b S3) Put(ctx context.Context, key string, r io.Reader) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	f, err := os.CreateTemp("", "orgscan-put-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("spool %s: %w", key, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = b.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(b.Prefix + key), Body: f})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s%s: %w", b.Bucket, b.Prefix, key, err)
	}
	return nil
}

// Open streams the object; a missing key is ErrNotFound.
func (b S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	out, err := b.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(b.Prefix + key)})
	if err != nil {
		var nsk *s3types.NoSuchKey
		var api smithy.APIError
		if errors.As(err, &nsk) || (errors.As(err, &api) && api.ErrorCode() == "NotFound") {
			return nil, fmt.Errorf("s3://%s/%s%s: %w", b.Bucket, b.Prefix, key, ErrNotFound)
		}
		return nil, fmt.Errorf("get s3://%s/%s%s: %w", b.Bucket, b.Prefix, key, err)
	}
	return out.Body, nil
}

// List pages through ListObjectsV2 under the prefix (s3:ListBucket on the
// bucket). The keys are returned without the store's Prefix.
func (b S3) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	p := s3.NewListObjectsV2Paginator(b.Client, &s3.ListObjectsV2Input{Bucket: aws.String(b.Bucket), Prefix: aws.String(b.Prefix + prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s%s: %w", b.Bucket, b.Prefix, prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, strings.TrimPrefix(aws.ToString(o.Key), b.Prefix))
		}
	}
	return out, nil
}
