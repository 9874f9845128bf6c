package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsathena"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/queries"
)

// HistoryTables are the Athena tables, each with the Parquet row type that
// defines its columns (pkg/history, the one schema definition).
var HistoryTables = []struct {
	Name string
	Row  any
}{
	{pipeline.FindingsTable, history.FindingRow{}},
	{pipeline.PairsTable, history.PairRow{}},
	{pipeline.InventoryTable, history.InventoryRow{}},
}

// PartitionProjectionStart is the first dt partition projection considers.
const PartitionProjectionStart = "2024-01-01"

// AthenaResultsPrefix is where the workgroup writes query results.
const AthenaResultsPrefix = "athena-results/"

// newHistory creates the Glue database and the three history tables over
// the bucket's Parquet files, partitioned by dt with partition projection
// (no crawler, no MSCK REPAIR), the Athena workgroup and one named query per
// queries/*.sql file.
func newHistory(stack awscdk.Stack, cfg Config, bucket awss3.Bucket) {
	db := awsglue.NewCfnDatabase(stack, jsii.String("GlueDatabase"), &awsglue.CfnDatabaseProps{
		CatalogId: awscdk.Aws_ACCOUNT_ID(),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			Name:        jsii.String(cfg.Advanced.GlueDatabase),
			Description: jsii.String("orgscan history: findings, pairs and inventory of every run (Parquet)"),
		},
	})
	for _, t := range HistoryTables {
		cols, err := history.Columns(t.Row)
		if err != nil {
			panic(fmt.Sprintf("history table %s: %v", t.Name, err)) // the row types are fixed at compile time
		}
		var columns []interface{}
		for _, c := range cols {
			columns = append(columns, &awsglue.CfnTable_ColumnProperty{Name: jsii.String(c.Name), Type: jsii.String(c.Type)})
		}
		location := "s3://" + *bucket.BucketName() + "/" + t.Name + "/"
		awsglue.NewCfnTable(stack, jsii.String("GlueTable"+title(t.Name)), &awsglue.CfnTableProps{
			CatalogId:    awscdk.Aws_ACCOUNT_ID(),
			DatabaseName: db.Ref(),
			TableInput: &awsglue.CfnTable_TableInputProperty{
				Name:        jsii.String(t.Name),
				Description: jsii.String("orgscan " + t.Name + ": one Parquet file per run under " + t.Name + "/dt=YYYY-MM-DD/"),
				TableType:   jsii.String("EXTERNAL_TABLE"),
				Parameters: map[string]*string{
					"classification":              jsii.String("parquet"),
					"EXTERNAL":                    jsii.String("TRUE"),
					"projection.enabled":          jsii.String("true"),
					"projection.dt.type":          jsii.String("date"),
					"projection.dt.format":        jsii.String("yyyy-MM-dd"),
					"projection.dt.range":         jsii.String(PartitionProjectionStart + ",NOW"),
					"projection.dt.interval":      jsii.String("1"),
					"projection.dt.interval.unit": jsii.String("DAYS"),
					"storage.location.template":   jsii.String(location + "dt=${dt}"),
				},
				PartitionKeys: []interface{}{&awsglue.CfnTable_ColumnProperty{Name: jsii.String("dt"), Type: jsii.String("string")}},
				StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
					Columns:      &columns,
					Location:     jsii.String(location),
					InputFormat:  jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"),
					OutputFormat: jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"),
					SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
						SerializationLibrary: jsii.String("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
					},
				},
			},
		})
	}

	wg := awsathena.NewCfnWorkGroup(stack, jsii.String("WorkGroup"), &awsathena.CfnWorkGroupProps{
		Name:                  jsii.String(cfg.Advanced.AthenaWorkGroup),
		Description:           jsii.String("orgscan history queries"),
		State:                 jsii.String("ENABLED"),
		RecursiveDeleteOption: jsii.Bool(true),
		WorkGroupConfiguration: &awsathena.CfnWorkGroup_WorkGroupConfigurationProperty{
			EnforceWorkGroupConfiguration:   jsii.Bool(true),
			PublishCloudWatchMetricsEnabled: jsii.Bool(true),
			BytesScannedCutoffPerQuery:      jsii.Number(float64(cfg.Advanced.AthenaBytesScannedCutoff)),
			EngineVersion: &awsathena.CfnWorkGroup_EngineVersionProperty{
				// The named queries use Trino functions (max_by).
				SelectedEngineVersion: jsii.String("Athena engine version 3"),
			},
			ResultConfiguration: &awsathena.CfnWorkGroup_ResultConfigurationProperty{
				OutputLocation: jsii.String("s3://" + *bucket.BucketName() + "/" + AthenaResultsPrefix),
				EncryptionConfiguration: &awsathena.CfnWorkGroup_EncryptionConfigurationProperty{
					EncryptionOption: jsii.String("SSE_S3"),
				},
			},
		},
	})
	for _, q := range queries.All() {
		awsathena.NewCfnNamedQuery(stack, jsii.String("Query"+camel(q.Name)), &awsathena.CfnNamedQueryProps{
			Name:        jsii.String(q.Name),
			Description: jsii.String(truncate(q.Description, 1024)),
			Database:    db.Ref(),
			QueryString: jsii.String(q.SQL),
			WorkGroup:   wg.Ref(),
		})
	}
}

// camel turns a query's file name (snake_case) into a logical ID part.
func camel(s string) string {
	out := []byte{}
	up := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-':
			up = true
			continue
		case up && c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		up = false
		out = append(out, c)
	}
	return string(out)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
